"""Which character encoding a Shapefile's DBF strings use.

Departments hand over Shapefiles in GBK/GB18030 or UTF-8, with or without a ``.cpg``.
The order of evidence is: an operator's ``--encoding`` (verified), the ``.cpg``, the DBF
language driver id (LDID), then the bytes themselves. The DBF is read with ``struct``
rather than through GDAL because GDAL would already have (mis)decoded the strings.
"""

from __future__ import annotations

import codecs
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from layers.errors import IngestError

EncodingSource = Literal["forced", "cpg", "ldid", "detected"]

# GBK, CP936 and GB2312 all map to GB18030: it is a strict superset of each, so decoding
# with it never loses a character that the narrower code page would have produced, and it
# also covers the rarer hanzi (e.g. in personal and place names) newer tools write.
_CODEPAGE_ALIASES = {
    "GBK": "GB18030",
    "CP936": "GB18030",
    "936": "GB18030",
    "ANSI936": "GB18030",
    "GB2312": "GB18030",
    "GB18030": "GB18030",
    "EUCCN": "GB18030",
    "MS936": "GB18030",
    "UTF8": "UTF-8",
    "65001": "UTF-8",
    "UTF-8": "UTF-8",
    "CP65001": "UTF-8",
    "BIG5": "CP950",
    "CP950": "CP950",
    "950": "CP950",
    "ANSI950": "CP950",
    "1252": "CP1252",
    "ANSI1252": "CP1252",
    "CP1252": "CP1252",
    "WINDOWS1252": "CP1252",
    "88591": "ISO-8859-1",
    "ISO88591": "ISO-8859-1",
    "LATIN1": "ISO-8859-1",
}

# LDID byte (DBF header offset 29) -> code page. 0x00 ("OEM") and 0x57 ("ANSI", i.e. the
# writer's system code page) say nothing usable, so they are absent on purpose.
_LDID_CODEPAGES = {
    0x01: "CP437",
    0x02: "CP850",
    0x03: "CP1252",
    0x13: "CP932",
    0x4D: "GB18030",
    0x4E: "CP949",
    0x4F: "CP950",
    0x58: "CP1252",
    0x59: "CP1252",
    0x78: "CP950",
    0x79: "CP949",
    0x7A: "GB18030",
    0x7B: "CP932",
    0xC8: "CP1250",
    0xC9: "CP1251",
}
_MULTIBYTE = {"UTF-8", "GB18030", "CP950", "CP949", "CP932"}

_MAX_SAMPLE_BYTES = 8 * 1024 * 1024  # enough records to decide; huge DBFs are sampled


@dataclass(frozen=True)
class EncodingResult:
    """The encoding to pass to pyogrio/GDAL when reading, and why it was chosen."""

    encoding: str
    source: EncodingSource
    confidence: float
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DbfText:
    """One non-ASCII string found in a DBF: a field name or a character value."""

    record: int  # -1 for the header (field names)
    field_name: str
    raw: bytes
    fills_field: bool  # written to the full width, so a trailing character may be cut


@dataclass(frozen=True)
class DbfSample:
    path: Path
    ldid: int
    n_records: int
    n_sampled: int
    texts: list[DbfText]


def normalise_codepage(name: str) -> str | None:
    """Map a ``.cpg`` / user spelling ("CP936", "ANSI 936", "utf8") to a GDAL/Python name."""
    key = name.strip().upper().replace("-", "").replace("_", "").replace(" ", "")
    if key in _CODEPAGE_ALIASES:
        return _CODEPAGE_ALIASES[key]
    try:
        return codecs.lookup(name.strip()).name.upper()
    except LookupError:
        return None


def detect_shapefile_encoding(shp_path: Path, forced: str | None = None) -> EncodingResult:
    """Decide the DBF string encoding of ``shp_path``; raise IngestError when it cannot."""
    sample = read_dbf_sample(shp_path)
    if forced is not None:
        return _forced_result(sample, forced)
    notes: list[str] = []
    from_cpg = _from_cpg(shp_path, sample, notes)
    if from_cpg is not None:
        return from_cpg
    from_ldid = _from_ldid(sample, notes)
    if from_ldid is not None:
        return from_ldid
    return _detect_from_bytes(sample, notes)


def decode_check(shp_path: Path, encoding: str) -> None:
    """Raise IngestError unless every sampled DBF string decodes strictly in ``encoding``."""
    sample = read_dbf_sample(shp_path)
    name = normalise_codepage(encoding)
    if name is None:
        raise IngestError(f"{shp_path}: unknown encoding {encoding!r}; use e.g. GB18030 or UTF-8")
    _require_decodes(sample, name)


def read_dbf_sample(shp_path: Path) -> DbfSample:
    """Read the DBF header and up to ~8 MB of records, keeping the non-ASCII strings."""
    dbf_path = _find_sidecar(shp_path, ".dbf")
    if dbf_path is None:
        raise IngestError(f"{shp_path}: no .dbf beside it; copy every file of the Shapefile set")
    try:
        with dbf_path.open("rb") as dbf:
            head = dbf.read(32)
            if len(head) < 32:
                raise IngestError(f"{dbf_path}: truncated DBF header; re-export the Shapefile")
            n_records, header_len, record_len = struct.unpack("<IHH", head[4:12])
            if header_len < 33 or record_len < 1:
                raise IngestError(f"{dbf_path}: corrupt DBF header; re-export the Shapefile")
            descriptors = dbf.read(header_len - 32)
            fields = _parse_fields(descriptors)
            n_sampled = min(n_records, _MAX_SAMPLE_BYTES // record_len)
            records = dbf.read(n_sampled * record_len)
    except OSError as exc:
        raise IngestError(f"{dbf_path}: cannot read the DBF ({exc})") from exc
    texts = _field_name_texts(fields) + _record_texts(records, record_len, fields)
    return DbfSample(dbf_path, head[29], n_records, n_sampled, texts)


_Field = tuple[str, bytes, str, int]  # (printable name, raw name, type, width)


def _parse_fields(descriptors: bytes) -> list[_Field]:
    fields: list[_Field] = []
    for start in range(0, len(descriptors) - 31, 32):
        block = descriptors[start : start + 32]
        if block[0] == 0x0D:
            break
        raw_name = block[:11].split(b"\x00", 1)[0]
        printable = raw_name.decode("ascii", errors="backslashreplace")
        fields.append((printable, raw_name, chr(block[11]), block[16]))
    return fields


def _field_name_texts(fields: list[_Field]) -> list[DbfText]:
    # Field names are decoded with the same encoding as values, and are often Chinese.
    return [DbfText(-1, name, raw, False) for name, raw, _, _ in fields if not raw.isascii()]


def _record_texts(records: bytes, record_len: int, fields: list[_Field]) -> list[DbfText]:
    texts: list[DbfText] = []
    for index, start in enumerate(range(0, len(records) - record_len + 1, record_len)):
        offset = start + 1  # byte 0 of a record is the deletion flag
        for name, _, kind, width in fields:
            value = records[offset : offset + width]
            offset += width
            if kind != "C" or value.isascii():
                continue
            stripped = value.rstrip(b" \x00")
            texts.append(DbfText(index, name, stripped, len(stripped) == width))
    return texts


def _decode_error(text: DbfText, encoding: str) -> str | None:
    """Why ``text`` does not decode strictly, or None if it does."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        # A value written to the full field width may end in a character the writer cut
        # in half; only that trailing fragment is tolerated (final=False keeps it pending).
        decoder.decode(text.raw, final=not text.fills_field)
    except UnicodeDecodeError as exc:
        return exc.reason
    return None


def _first_failure(sample: DbfSample, encoding: str) -> DbfText | None:
    return next((t for t in sample.texts if _decode_error(t, encoding) is not None), None)


def _require_decodes(sample: DbfSample, encoding: str) -> None:
    bad = _first_failure(sample, encoding)
    if bad is None:
        return
    where = "a field name" if bad.record < 0 else f"record {bad.record + 1}, field {bad.field_name}"
    raw = bad.raw[:24].hex(" ")
    raise IngestError(
        f"{sample.path}: the strings are not {encoding} ({where} has bytes {raw}); "
        "pass the right --encoding (GB18030 for GBK/GB2312 data, or UTF-8)"
    )


def _forced_result(sample: DbfSample, forced: str) -> EncodingResult:
    encoding = normalise_codepage(forced)
    if encoding is None:
        raise IngestError(f"{sample.path}: unknown --encoding {forced!r}; use GB18030 or UTF-8")
    _require_decodes(sample, encoding)
    notes = [f"--encoding {forced} decodes all {len(sample.texts)} non-ASCII strings sampled"]
    if encoding != "UTF-8" and sample.texts and _first_failure(sample, "UTF-8") is None:
        notes.append("the strings also decode as UTF-8, which is the likelier encoding")
    return EncodingResult(encoding, "forced", 1.0, notes)


def _from_cpg(shp_path: Path, sample: DbfSample, notes: list[str]) -> EncodingResult | None:
    cpg_path = _find_sidecar(shp_path, ".cpg")
    if cpg_path is None:
        return None
    cpg_text = cpg_path.read_text("ascii", errors="replace").strip()
    encoding = normalise_codepage(cpg_text) if cpg_text else None
    if encoding is None:
        notes.append(f"ignored the .cpg: {cpg_text!r} is not a known code page")
        return None
    if _first_failure(sample, encoding) is not None:
        notes.append(f"ignored the .cpg: it says {cpg_text} but the strings do not decode as such")
        return None
    return EncodingResult(encoding, "cpg", 1.0, [*notes, f".cpg says {cpg_text}"])


def _from_ldid(sample: DbfSample, notes: list[str]) -> EncodingResult | None:
    encoding = _LDID_CODEPAGES.get(sample.ldid)
    if encoding is None or _first_failure(sample, encoding) is not None:
        return None
    # Writers often stamp a Western LDID by default; a single-byte code page decodes any
    # bytes, so it loses to evidence of UTF-8 or Chinese text in the values.
    if encoding not in _MULTIBYTE and _multibyte_guess(sample) is not None:
        notes.append(f"ignored LDID 0x{sample.ldid:02X} ({encoding}): the strings are multi-byte")
        return None
    return EncodingResult(encoding, "ldid", 0.9, [*notes, f"DBF LDID 0x{sample.ldid:02X}"])


def _detect_from_bytes(sample: DbfSample, notes: list[str]) -> EncodingResult:
    if not sample.texts:
        notes.append("every sampled string is ASCII, so any ASCII-compatible encoding reads it")
        return EncodingResult("UTF-8", "detected", 1.0, notes)
    guess = _multibyte_guess(sample)
    if guess is None:
        raise IngestError(
            f"{sample.path}: the DBF strings are neither UTF-8 nor Chinese GB18030/GBK text; "
            "pass --encoding with the code page the file was written in (e.g. --encoding CP950)"
        )
    encoding, confidence = guess
    if sample.n_sampled < sample.n_records:
        notes.append(f"decided from the first {sample.n_sampled} of {sample.n_records} records")
    notes.append(f"{len(sample.texts)} non-ASCII strings decode strictly as {encoding}")
    return EncodingResult(encoding, "detected", confidence, notes)


def _multibyte_guess(sample: DbfSample) -> tuple[str, float] | None:
    """UTF-8 if it decodes strictly, else GB18030 if it decodes and reads as Chinese."""
    if not sample.texts:
        return None
    agreement = 1.0 - 0.5 ** len(sample.texts)  # each strict decode makes chance less likely
    if _first_failure(sample, "UTF-8") is None:
        return "UTF-8", agreement
    if _first_failure(sample, "GB18030") is None:
        share = _common_hanzi_share(sample)
        if share >= 0.9:
            return "GB18030", agreement * share
    return None


def _common_hanzi_share(sample: DbfSample) -> float:
    """Share of non-ASCII characters that are CJK and in GB2312's common set.

    Latin-1 bytes often decode "strictly" as GB18030 too, but into rare characters of the
    GBK extension area; real Chinese text is overwhelmingly GB2312 hanzi and punctuation.
    """
    decoded = "".join(t.raw.decode("gb18030", errors="ignore") for t in sample.texts)
    non_ascii = [ch for ch in decoded if not ch.isascii()]
    common = [ch for ch in non_ascii if _is_gb2312(ch)]
    return len(common) / len(non_ascii) if non_ascii else 0.0


def _is_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _find_sidecar(shp_path: Path, suffix: str) -> Path | None:
    """The ``.dbf``/``.cpg`` beside ``shp_path``, in either letter case."""
    for candidate in (shp_path.with_suffix(suffix), shp_path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None
