"""The columnar form of stored answers: a batch's records as the decode step makes them.

One job: `Codec` turns the found records of one store write into bytes, and bytes read
back into one struct array (`Codec.pool`). The result store keeps these bytes next to
the JSON of each answer, so a re-run takes its rows with one Arrow ``take`` instead of
parsing the JSON (`salesql_frames._decode._from_stored`). The JSON stays the source of
truth: bytes that are missing, of another format or damaged are ignored, and those
answers are read from their JSON as before.

The bytes are an Arrow IPC record-batch message (`pyarrow.RecordBatch.serialize`; no
schema in it: the kind's record type is the schema) of one column, ``record``: the
records decoded (`salesql_frames._decode.decode`) with the kind's full record type, one
row per found record, in the order they were stored. `Codec.format` names that layout
and a fingerprint of the record type, so a version that reads other fields ignores
the bytes an older one wrote.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import pyarrow as pa
import pyarrow.ipc as pa_ipc

from . import _constants as C
from ._decode import decode

__all__ = ["Codec"]

logger = logging.getLogger(C.LOGGER_NAME)

#: The layout: one IPC record-batch message, one struct column named ``record``.
_LAYOUT: Final = "arrow-ipc-batch/1"
_COLUMN: Final = "record"


@dataclass(frozen=True, eq=False)
class Codec:
    """Encode and read the columnar form of one kind's stored answers.

    Attributes:
        record_type: The kind's full record type (every field any output reads).
        envelope: The kind's single-call envelope key (see `decode`).
    """

    record_type: pa.StructType
    envelope: str

    @cached_property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(_COLUMN, self.record_type)])

    @cached_property
    def format(self) -> str:
        """The layout and the record type's fingerprint, as stored with the bytes."""
        digest = hashlib.sha256(_describe(self.record_type).encode()).hexdigest()[:16]
        return f"{_LAYOUT}:{digest}"

    def encode(self, records: Sequence[Mapping[str, Any]]) -> bytes | None:
        """The columnar form of ``records``, one row each, in order; None if it fails.

        A failure is logged and nothing else: the answers are stored as JSON anyway.
        """
        if not records:
            return None
        try:
            arrays = list(decode(records, self.record_type, self.envelope))
            array = arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)
            batch = pa.RecordBatch.from_arrays([array], schema=self.schema)
            return bytes(batch.serialize().to_pybytes())
        except Exception as exc:  # never lose the JSON for this
            logger.debug("no columnar form for %d stored answers (%s: %s)", len(records),
                         type(exc).__name__, exc)
            return None

    def read(self, data: bytes) -> pa.StructArray | None:
        """The records of one stored batch; None if the bytes are not whole and valid.

        Fully validated (offsets, UTF-8), so damaged bytes are never handed to a
        kernel: their answers are read from their JSON instead.
        """
        try:
            batch = pa_ipc.read_record_batch(pa.py_buffer(data), self.schema)
            array = batch.column(0)
            array.validate(full=True)
        except Exception as exc:  # ArrowInvalid, or anything a damaged message raises
            logger.debug("stored columnar answers unreadable (%s: %s); reading their JSON",
                         type(exc).__name__, exc)
            return None
        if not isinstance(array, pa.StructArray):  # pragma: no cover - the schema says so
            return None
        return array

    def pool(self, arrays: Sequence[pa.StructArray]) -> tuple[pa.StructArray, list[int]]:
        """One array of every batch read, and where each batch starts in it."""
        starts, total = [], 0
        for array in arrays:
            starts.append(total)
            total += len(array)
        if len(arrays) == 1:
            return arrays[0], starts
        if not arrays:
            return pa.array([], type=self.record_type), starts
        pooled = pa.concat_arrays(list(arrays))
        assert isinstance(pooled, pa.StructArray)
        return pooled, starts


def _describe(typ: pa.DataType) -> str:
    """A type's full spelling, field metadata included, for the format fingerprint."""
    if pa.types.is_struct(typ):
        return "struct<" + ",".join(_describe_field(field) for field in typ) + ">"
    if pa.types.is_list(typ):
        return f"list<{_describe_field(typ.value_field)}>"
    return str(typ)


def _describe_field(field: pa.Field) -> str:
    meta = ""
    if field.metadata:
        meta = "{" + ",".join(f"{k!r}={v!r}" for k, v in sorted(field.metadata.items())) + "}"
    null = "" if field.nullable else " not null"
    return f"{field.name}:{_describe(field.type)}{meta}{null}"
