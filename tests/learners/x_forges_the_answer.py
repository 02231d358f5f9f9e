"""Hostile: writes its own answer on the grader's channel (the child's fd 3) and leaves."""
import json
import os

os.write(3, json.dumps({"status": "ok", "calls": [], "repeat": {"arrays": {}}}).encode())
os._exit(0)
