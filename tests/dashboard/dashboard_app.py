"""The app under test. In a module of its own name: importing from "conftest" would pick
whichever test directory's conftest was loaded first."""

from pathlib import Path

APP = str(Path(__file__).parents[2] / "dashboard" / "streamlit_app.py")
