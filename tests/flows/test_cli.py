"""The top-level CLI's error handling: usage mistakes are usage errors (exit 2, click's message), not bugs."""

from flows.cli import main


def test_unknown_option_is_a_usage_error_not_an_internal_error(capsys):
    code = main(["model", "train", "--no-such-flag", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert "No such option" in err and "--no-such-flag" in err
    assert "internal error" not in err


def test_unknown_command_is_a_usage_error(capsys):
    code = main(["no-such-command"])
    err = capsys.readouterr().err
    assert code == 2
    assert "internal error" not in err
