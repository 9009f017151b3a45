"""Static map images and the coverage report (HTML, PDF): ``/reports/...``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
