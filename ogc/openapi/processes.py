"""One ``/processes/<id>/execution`` operation per registered process in ``/api``.

The generic ``/processes/{processId}/execution`` takes ``inputs`` as an open object, so a
client generating requests from the document (schemathesis, code generators) never
learns a process's inputs and never reaches its analysis. Each process's own operation
states them: its body's ``inputs`` is the process description's input schemas, the same
``input_descriptions`` that ``/processes/<id>`` serves. The operation is the synchronous
run (``Prefer: respond-async`` and ``publish`` stay on the generic one).
"""

from __future__ import annotations

from typing import Any

from ogc.processes.describe import input_descriptions
from spatial.registry import Analysis, AnalysisRegistry

GENERIC_EXECUTION = "/processes/{processId}/execution"


def with_processes(document: dict[str, Any], registry: AnalysisRegistry) -> dict[str, Any]:
    """``document`` (OpenAPI 3.1, as FastAPI writes it) plus each process's execution path."""
    generic = document["paths"][GENERIC_EXECUTION]["post"]
    paths = dict(document["paths"])
    for analysis in registry:
        paths[f"/processes/{analysis.id}/execution"] = {"post": _execution(analysis, generic)}
    return {**document, "paths": paths}


def _execution(analysis: Analysis[Any], generic: dict[str, Any]) -> dict[str, Any]:
    described = input_descriptions(analysis)
    inputs: dict[str, Any] = {
        "type": "object",
        "properties": {name: entry["schema"] for name, entry in described.items()},
    }
    required = [name for name, entry in described.items() if entry["minOccurs"]]
    if required:  # 3.0: a required list is never empty
        inputs["required"] = required
    body = {
        "type": "object",
        "properties": {
            "inputs": inputs,
            "response": {"type": "string", "enum": ["raw", "document"], "default": "raw"},
        },
        "required": ["inputs"],
    }
    return {
        "tags": generic.get("tags", ["Processes"]),
        "summary": f"Execute {analysis.id}: {analysis.title}",
        "description": f"{analysis.description} See /processes/{analysis.id}.",
        "operationId": f"execute_{analysis.id.replace('-', '_')}",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": generic.get("responses", {}),
    }
