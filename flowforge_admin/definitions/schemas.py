"""Parameters schemas (JSON Schema 2020-12): checked whole when saved, applied safely at launch.

jsonschema resolves ``$ref`` only when validation reaches it, fetches remote
references over the network by default, and matches ``pattern`` with Python's
backtracking ``re``. A schema that passed the meta-schema could therefore make
every later launch fail (a reference to nothing, a reference to itself) or
stall the web process (``(a+)+$`` against a long text). So:

- :func:`validator_for` applies a schema with an offline registry (the
  meta-schemas only: nothing is ever fetched) and with RE2, whose matching
  time is linear in the text, for ``pattern``, ``patternProperties`` and
  ``additionalProperties``;
- :func:`schema_problem` checks, when a schema is saved, that every reference
  resolves, that no chain of references loops without descending into the
  parameters, and that every regular expression compiles in RE2.
"""

import functools

import jsonschema
import re2
from jsonschema import validators
from jsonschema.exceptions import ValidationError as SchemaValidationError
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

# The keywords that apply a subschema to the same value (not to a part of it):
# a loop through these alone never ends.
IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
IN_PLACE_ONE = ("not", "if", "then", "else")
REFERENCES = ("$ref", "$dynamicRef")


class UnusableSchema(Exception):
    """A schema that passed the meta-schema but cannot be applied (says why)."""


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern):
    """Return ``pattern`` compiled by RE2; raise UnusableSchema saying why it cannot be."""
    options = re2.Options()
    options.log_errors = False  # RE2 would write each refusal to stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        reason = error.args[0].decode(errors="replace") if error.args else str(error)
        raise UnusableSchema(
            f"the regular expression {pattern!r} is not supported ({reason}); patterns run "
            "with RE2, which has no look-around and no back-references"
        ) from None
    except (TypeError, UnicodeError):
        raise UnusableSchema(f"the regular expression {pattern!r} cannot be compiled") from None


def _search(pattern, text):
    return compile_pattern(pattern).search(text) is not None


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield SchemaValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, patterns, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, allowed, instance, schema):
    """jsonschema's additionalProperties, with patternProperties matched by RE2."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [
        key
        for key in instance
        if key not in properties and not any(_search(pattern, key) for pattern in patterns)
    ]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            yield SchemaValidationError(
                f"{joined} {verb} not match any of the regexes: {', '.join(map(repr, sorted(patterns)))}"
            )
        else:
            yield SchemaValidationError(
                f"Additional properties are not allowed ({', '.join(map(repr, sorted(extras)))} "
                f"{'was' if len(extras) == 1 else 'were'} unexpected)"
            )


ParamsValidator = validators.extend(
    jsonschema.Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def validator_for(schema):
    """Return the validator that applies ``schema`` to a run's parameters (offline, RE2)."""
    return ParamsValidator(schema, registry=SPECIFICATIONS)


def schema_problem(schema):
    """Return what is wrong with ``schema`` as a parameters schema, or None."""
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        return f"is not a valid JSON Schema: {error.message}"
    except RecursionError:
        return "is not a valid JSON Schema: nested too deeply"
    try:
        check_usable(schema)
        # And apply it once, as a launch without parameters would: what the static look
        # missed (a $dynamicRef's run-time target, say) shows here rather than at a launch.
        for _ in validator_for(schema).iter_errors({}):
            pass
    except UnusableSchema as error:
        return f"cannot be used: {error}"
    except (Unresolvable, RecursionError) as error:
        return f"cannot be used: {type(error).__name__}: {error}"
    return None


def check_usable(schema):
    """Raise UnusableSchema unless every reference and pattern of ``schema`` works."""
    resolver = SPECIFICATIONS.resolver_with_root(DRAFT202012.create_resource(schema))
    targets = {}  # id(subschema) -> the subschemas its references lead to
    uses_unevaluated = has_pattern_properties = False
    for subschema, sub_resolver in _subschemas(schema, resolver):
        if not isinstance(subschema, dict):
            continue
        targets[id(subschema)] = [_resolve(sub_resolver, subschema[k]) for k in REFERENCES if k in subschema]
        if isinstance(subschema.get("pattern"), str):
            compile_pattern(subschema["pattern"])
        if isinstance(subschema.get("patternProperties"), dict):
            has_pattern_properties = True
            for pattern in subschema["patternProperties"]:
                compile_pattern(pattern)
        uses_unevaluated = uses_unevaluated or "unevaluatedProperties" in subschema
    if uses_unevaluated and has_pattern_properties:
        # jsonschema matches patternProperties with Python's re inside unevaluatedProperties.
        raise UnusableSchema("unevaluatedProperties together with patternProperties is not supported")
    _check_no_reference_loop(schema, resolver, targets)


def _subschemas(schema, resolver):
    """Yield (subschema, resolver in its scope) for ``schema`` and everything under it."""
    stack = [(schema, resolver)]
    while stack:
        subschema, scope = stack.pop()
        if isinstance(subschema, dict) and "$id" in subschema and subschema is not schema:
            scope = scope.in_subresource(DRAFT202012.create_resource(subschema))
        yield subschema, scope
        stack.extend((child, scope) for child in DRAFT202012.subresources_of(subschema))


def _resolve(resolver, reference):
    if not isinstance(reference, str):
        raise UnusableSchema(f"the reference {reference!r} is not text")
    try:
        return resolver.lookup(reference).contents
    except Unresolvable:
        raise UnusableSchema(
            f"the reference {reference!r} leads nowhere (only references inside the schema "
            "work: nothing is fetched)"
        ) from None


def _in_place_children(subschema):
    if not isinstance(subschema, dict):
        return []
    children = [child for key in IN_PLACE_LISTS for child in subschema.get(key, ())]
    children += [subschema[key] for key in IN_PLACE_ONE if key in subschema]
    dependent = subschema.get("dependentSchemas")
    if isinstance(dependent, dict):
        children += dependent.values()
    return children


def _check_no_reference_loop(schema, resolver, targets):
    """Raise UnusableSchema when references lead back to where they started without descending.

    ``{"$ref": "#"}`` applies the schema to the same value again and again:
    jsonschema would recurse until Python stops it. A reference under
    ``properties`` or ``items`` descends into the value first and ends with it.
    """
    done, on_path = set(), set()
    for start, _ in _subschemas(schema, resolver):
        if id(start) in done:
            continue
        stack = [(start, iter(_edges(start, targets)))]
        on_path.add(id(start))
        while stack:
            node, successors = stack[-1]
            for successor in successors:
                if id(successor) in on_path:
                    raise UnusableSchema(
                        "a $ref leads back to itself without descending into the parameters "
                        "(it would recurse for ever)"
                    )
                if id(successor) not in done:
                    on_path.add(id(successor))
                    stack.append((successor, iter(_edges(successor, targets))))
                    break
            else:
                stack.pop()
                on_path.discard(id(node))
                done.add(id(node))


def _edges(subschema, targets):
    return [*_in_place_children(subschema), *targets.get(id(subschema), ())]
