"""How a value becomes the bytes of an artifact, and back: one class per format.

``FLOWFORGE_ARTIFACT_SERIALIZERS`` lists them in the order they are tried:
the first whose ``accepts(value)`` is true writes the value (should it fail,
the next one tries; pickle accepts everything). A project adds its own format
by writing a subclass of :class:`Serializer` and listing it before pickle.

A serializer's ``name`` is stored with the artifact, so that a worker knows
how to read it back: keep it once artifacts exist.
"""

import io
import math
import pickle
import sys

from django.utils.module_loading import import_string

from ..conf import get_setting

WRITE_BYTES = 16 << 20  # an array is written in slices of this size


class Serializer:
    """Writes values of some types to a binary stream and reads them back from bytes."""

    name = ""  # stored with each artifact
    extension = "bin"  # of the file in the store

    def accepts(self, value):
        """Return whether this serializer can write ``value``."""
        raise NotImplementedError

    def dump(self, value, stream):
        """Write ``value`` to ``stream`` (a binary file object with ``write``)."""
        raise NotImplementedError

    def load(self, data):
        """Return the value written as ``data`` (a writable buffer whose signature was checked)."""
        raise NotImplementedError


class NumpySerializer(Serializer):
    """NumPy arrays as .npy files (no pickled objects in them: arrays of Python objects go to pickle)."""

    name = "npy"
    extension = "npy"

    def accepts(self, value):
        numpy = sys.modules.get("numpy")  # a value cannot be an array unless NumPy was imported
        return numpy is not None and type(value) is numpy.ndarray and not value.dtype.hasobject

    def dump(self, value, stream):
        import numpy

        if not (value.flags.c_contiguous or value.flags.f_contiguous):
            value = numpy.ascontiguousarray(value)
        header = numpy.lib.format.header_data_from_array_1_0(value)
        try:
            numpy.lib.format.write_array_header_1_0(stream, header)
        except ValueError:  # a header too long for version 1.0 (a dtype of many fields)
            numpy.lib.format.write_array_header_2_0(stream, header)
        # The array's memory as it is, in slices: no copy (numpy.save copies it through a buffer).
        in_memory_order = value.T if header["fortran_order"] else value
        data = memoryview(in_memory_order.reshape(-1).view(numpy.uint8))
        for start in range(0, data.nbytes, WRITE_BYTES):
            stream.write(data[start : start + WRITE_BYTES])

    def load(self, data):
        import numpy

        # The header, then the data read in place (no copy of a large array).
        header = io.BytesIO(memoryview(data).cast("B")[: 1 << 16].tobytes())
        version = numpy.lib.format.read_magic(header)
        read_header = {
            (1, 0): numpy.lib.format.read_array_header_1_0,
            (2, 0): numpy.lib.format.read_array_header_2_0,
        }.get(version)
        if read_header is None:
            raise ValueError(f"unsupported .npy format version {version}")
        shape, fortran_order, dtype = read_header(header)
        if dtype.hasobject:
            raise ValueError("the .npy file holds Python objects, which are not loaded")
        count = math.prod(shape)
        array = numpy.frombuffer(data, dtype=dtype, count=count, offset=header.tell())
        return array.reshape(shape, order="F" if fortran_order else "C")


class ParquetSerializer(Serializer):
    """pandas DataFrames as Parquet files, when pandas and pyarrow are installed."""

    name = "parquet"
    extension = "parquet"

    def accepts(self, value):
        pandas = sys.modules.get("pandas")
        if pandas is None or type(value) is not pandas.DataFrame:
            return False
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            return False
        # Parquet needs text column names; other frames go to pickle.
        return all(isinstance(column, str) for column in value.columns)

    def dump(self, value, stream):
        value.to_parquet(stream, engine="pyarrow")

    def load(self, data):
        import pandas

        return pandas.read_parquet(io.BytesIO(data), engine="pyarrow")


class PickleSerializer(Serializer):
    """Any other value, with pickle (loaded only from the app's own store, after its signature check)."""

    name = "pickle"
    extension = "pickle"

    def accepts(self, value):
        return True

    def dump(self, value, stream):
        pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, data):
        return pickle.loads(data)


def configured():
    """Return the serializers of ``FLOWFORGE_ARTIFACT_SERIALIZERS``, in order (instances)."""
    return [import_string(path)() for path in get_setting("FLOWFORGE_ARTIFACT_SERIALIZERS")]


def by_name(name):
    """Return the configured serializer called ``name``, or None."""
    return next((serializer for serializer in configured() if serializer.name == name), None)
