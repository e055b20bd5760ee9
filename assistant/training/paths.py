"""Learning paths (``prompts/learning_paths.yaml``): per process a list of steps in processing order; each
step is a search query whose best hit among the path's documents becomes the step (a short explanation
drawn from the section plus its citation). Only departments the principal may see."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..answering import citation_dict
from ..errors import ConfigurationError, NotFoundError
from ..identity import Principal
from .text import explanation

PATHS_FILE = Path(__file__).resolve().parents[2] / "prompts" / "learning_paths.yaml"


@dataclass(frozen=True)
class StepSpec:
    title: str
    query: str
    section: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class PathSpec:
    id: str
    title: str
    department: str
    description: str
    sources: tuple[str, ...]
    steps: tuple[StepSpec, ...]


@dataclass(frozen=True)
class LearningPaths:
    paths: tuple[PathSpec, ...]
    key_terms: frozenset[str]

    def get(self, path_id: str) -> PathSpec | None:
        return next((p for p in self.paths if p.id == path_id), None)


def load_learning_paths(path: Path | None = None) -> LearningPaths:
    path = Path(path or PATHS_FILE)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        paths = []
        for p in data["paths"]:
            steps = tuple(StepSpec(str(s["title"]), str(s["query"]), s.get("section"), s.get("source"))
                          for s in p["steps"])
            paths.append(PathSpec(str(p["id"]), str(p["title"]), str(p["department"]),
                                  " ".join(str(p.get("description", "")).split()),
                                  tuple(p.get("sources") or ()), steps))
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"Lernpfade fehlen oder sind ungültig: {path} ({exc})") from exc
    ids = [p.id for p in paths]
    if len(set(ids)) != len(ids):
        raise ConfigurationError(f"Lernpfade: doppelte ID in {path}")
    return LearningPaths(tuple(paths), frozenset(str(t) for t in data.get("key_terms") or ()))


@dataclass(frozen=True)
class Step:
    n: int
    title: str
    hit: object  # indexer Hit


def departments(principal: Principal) -> list[str] | None:
    return list(principal.departments) if principal.departments is not None else None


class PathSteps:
    """The learning paths of ``catalog`` resolved against the knowledge base ``kb``, cached per path,
    departments and index generation."""

    def __init__(self, kb, catalog: LearningPaths):
        self.kb, self.catalog = kb, catalog
        self._cache: dict[tuple, list[Step]] = {}
        self._lock = threading.Lock()

    def _generation(self):
        catalog = getattr(self.kb, "catalog", None)
        try:
            return catalog.generation() if catalog is not None else None
        except Exception:  # noqa: BLE001
            return None

    def visible(self, principal: Principal) -> list[PathSpec]:
        return [p for p in self.catalog.paths if principal.may_see(p.department)]

    def steps(self, spec: PathSpec, principal: Principal) -> list[Step]:
        """The path's steps for this principal: per step the best hit among the path's documents."""
        deps = departments(principal)
        key = (spec.id, tuple(sorted(deps)) if deps is not None else None, self._generation())
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and key[2] is not None:
            return cached
        steps: list[Step] = []
        used: set[str] = set()
        for step in spec.steps:
            allowed = (step.source,) if step.source else spec.sources
            hits = [h for h in self.kb.search(step.query, 10, departments=deps)
                    if principal.may_see(h.department) and (not allowed or h.source in allowed)
                    and h.chunk_id not in used]
            if not hits:
                continue
            hint = (step.section or "").casefold()
            hit = next((h for h in hits if hint and hint in " > ".join((*h.heading_path, h.section)).casefold()),
                       hits[0])
            used.add(hit.chunk_id)
            steps.append(Step(len(steps) + 1, step.title, hit))
        with self._lock:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = steps
        return steps

    def spec(self, principal: Principal, path_id: str) -> PathSpec:
        spec = self.catalog.get(path_id)
        if spec is None or not principal.may_see(spec.department):
            raise NotFoundError("Diesen Lernpfad gibt es nicht oder er ist für Sie nicht freigegeben.")
        return spec

    def overview(self, principal: Principal) -> list[dict]:
        out = []
        for spec in self.visible(principal):
            steps = self.steps(spec, principal)
            if steps:
                out.append({"id": spec.id, "title": spec.title, "department": spec.department,
                            "description": spec.description, "steps": len(steps)})
        return out

    def detail(self, principal: Principal, path_id: str) -> dict:
        spec = self.spec(principal, path_id)
        steps = self.steps(spec, principal)
        if not steps:
            raise NotFoundError("Zu diesem Lernpfad sind für Sie keine Dokumente freigegeben.")
        return {"id": spec.id, "title": spec.title, "department": spec.department, "description": spec.description,
                "steps": [{"n": st.n, "title": st.title, "text": explanation(st.hit.text),
                           "citations": [citation_dict(1, st.hit)]} for st in steps]}
