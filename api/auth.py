"""Tokens and roles: who may read which area and write what."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
