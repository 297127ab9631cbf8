"""The CLI: `reelwright users add` prints a token the API accepts; db and metrics commands."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dashboard.app import create_app
from flows.cli import main


def test_users_add_prints_a_working_token(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["users", "add", "mei", "--role", "producer", "--db", url]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("rw_") and "shown once" in out.err
    with TestClient(create_app(url, renders_dir=tmp_path)) as client:
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["role"] == "producer"
        assert main(["users", "revoke", "mei", "--db", url]) == 0
        client.app.state.reelwright.tokens.clear()  # another process revoked it; this one's cache is 5 s
        assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert main(["users", "add", "x", "--role", "boss", "--db", url]) == 1
    assert "unknown role 'boss'" in capsys.readouterr().err


def test_db_and_metrics_commands(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert "revision 0002" in capsys.readouterr().out
    assert main(["db", "downgrade", "base", "--db", url]) == 1  # needs --yes
    assert main(["db", "downgrade", "0001", "--db", url, "--yes"]) == 0
    assert "revision 0001" in capsys.readouterr().out
    bad = tmp_path / "views.csv"
    bad.write_text("series,episode,day,views\nNope,1,2026-11-20,-1\n")
    assert main(["metrics", "import", str(bad), "--db", url]) == 1
    err = capsys.readouterr().err
    assert "views.csv:2" in err and "greater than or equal to 0" in err
