"""The execution engine: launch runs, advance them as tasks finish, execute tasks on workers.

It imports models, registry and the leaf modules only; never forms, admin or views.
"""
