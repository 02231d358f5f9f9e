"""Hostile: leaves before answering."""
import os

os._exit(0)
