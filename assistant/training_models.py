"""SQL tables of the trainer mode (quizzes, quiz results, curated model answers) on :class:`Base`.

Created by the Alembic revision ``0003``; :func:`assistant.migrations.target_metadata` imports this
module so that the migrations see the tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, new_id, utcnow


class TrainingQuiz(Base):
    """A generated quiz; ``questions`` (a JSON list) holds the expected answers and never leaves the server
    before the quiz is graded."""

    __tablename__ = "training_quizzes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    path_id: Mapped[str] = mapped_column(String(100))
    seed: Mapped[int] = mapped_column(Integer)
    questions: Mapped[list[dict]] = mapped_column(JSON, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TrainingResult(Base):
    """The graded result of one quiz (one row per quiz); ``details`` (a JSON list): per question the given
    answer and whether it was right."""

    __tablename__ = "training_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    quiz_id: Mapped[str] = mapped_column(ForeignKey("training_quizzes.id", ondelete="CASCADE"), unique=True,
                                         index=True)
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    path_id: Mapped[str] = mapped_column(String(100))
    path_title: Mapped[str] = mapped_column(String(200))
    score: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    details: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ModelAnswer(Base):
    """A curated answer of a trainer: preferred by the assistant for similar questions.

    ``departments``: comma-separated departments of the cited sources (only principals who may see
    all of them get this answer)."""

    __tablename__ = "model_answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    departments: Mapped[str] = mapped_column(String(1000), default="")
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
