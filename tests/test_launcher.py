"""The `nnapp` console script: a launcher that handles stop signals before the heavy imports."""

import json
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Sends the process a signal the moment Python starts importing typer, then runs an entry point: the
# signal lands exactly in the window between the interpreter's start and the command line being ready.
SIGNAL_DURING_TYPER_IMPORT = """
import os, signal, sys

class SignalOnTyperImport:
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.{signal})
        return None

sys.meta_path.insert(0, SignalOnTyperImport())
sys.argv = ["nnapp", "--help"]
from {module} import main
main()
"""


def run_entry_point(module: str, signame: str) -> subprocess.CompletedProcess[str]:
    code = SIGNAL_DURING_TYPER_IMPORT.format(signal=signame, module=module)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ,
        timeout=60,
        preexec_fn=default_signals,
    )


def default_signals() -> None:
    """What a terminal's process meets: pytest run as a shell's background job (or under nohup) would
    pass SIGINT and SIGHUP on ignored, and an ignored Ctrl-C rightly stops nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def test_the_console_script_is_the_launcher():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"nnapp": "nnapp.cli.launcher:main"}


def test_the_launcher_imports_neither_typer_nor_rich_nor_numpy():
    code = "import json, sys, nnapp.cli.launcher; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert not loaded & {"typer", "rich", "numpy", "click"}


def test_a_sigterm_while_the_command_line_is_still_importing_is_one_error_line_and_exit_130():
    result = run_entry_point("nnapp.cli.launcher", "SIGTERM")
    assert result.returncode == 130
    assert result.stderr == "error: interrupted by SIGTERM\n" and result.stdout == ""


def test_a_sighup_while_the_command_line_is_still_importing_is_one_error_line_and_exit_130():
    result = run_entry_point("nnapp.cli.launcher", "SIGHUP")
    assert result.returncode == 130
    assert result.stderr == "error: interrupted by SIGHUP\n"


def test_ctrl_c_while_the_command_line_is_still_importing_is_one_line_and_exit_130():
    result = run_entry_point("nnapp.cli.launcher", "SIGINT")
    assert result.returncode == 130
    assert result.stderr == "interrupted\n"


def test_python_dash_m_nnapp_goes_through_the_launcher():
    result = run_entry_point("nnapp.__main__", "SIGTERM")  # its `main` is the launcher's
    assert result.returncode == 130 and result.stderr == "error: interrupted by SIGTERM\n"


def test_without_the_launcher_the_same_sigterm_is_a_silent_kill():
    # the control: the app's own main imports typer before any handler exists
    result = run_entry_point("nnapp.cli.app", "SIGTERM")
    assert result.returncode == -signal.SIGTERM and result.stderr == ""
