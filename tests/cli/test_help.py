"""What ``pointillist --help`` and every command's help show a new user."""

import re

import pytest

from pointillist import __version__
from pointillist.cli import main

COMMANDS = [
    ["screen"],
    ["plan"],
    ["simulate"],
    ["pigment"],
    ["serve"],
    ["admin", "create-clinic"],
    ["admin", "create-user"],
    ["admin", "set-password"],
    ["admin", "list-clinics"],
    ["backup"],
    ["restore"],
    ["demo"],
]


def _help(capsys, *argv):
    assert main([*argv, "--help"]) == 0
    return capsys.readouterr().out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"pointillist {__version__}\n"


def test_shell_completion_is_offered(capsys):
    out = _help(capsys)
    assert "--install-completion" in out and "--show-completion" in out


def test_commands_are_listed_in_the_order_a_clinic_uses_them(capsys):
    out = _help(capsys)
    listed = re.findall(r"^  ([a-z-]+) ", out.split("Commands:")[1], flags=re.MULTILINE)
    order = ["screen", "plan", "simulate", "pigment", "serve", "admin", "backup", "restore"]
    assert listed[: len(order)] == order


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_help_names_values_in_words_not_python_types(capsys, argv):
    out = _help(capsys, *argv)
    types = re.findall(r"<(?:str|int|float|path|list\[[^>]*\]|float,float,float)[^>]*>", out)
    assert types == [], types


def test_the_help_names_what_to_type(capsys):
    out = _help(capsys, "plan")
    for shown in ("--client FILE", "--start DATE", "--condition CONDITION", "--age YEARS"):
        assert shown in out
    assert "--lab L A B" in _help(capsys, "pigment")


def test_pigment_format_has_help(capsys):
    out = " ".join(_help(capsys, "pigment").split())
    assert re.search(r"--format <text\|json> text \(a table\) or json", out), out


def test_every_database_command_declares_database_url_alike():
    import typer

    from pointillist.cli import app

    def walk(command, path):
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, command

    declared = {
        " ".join(path): (option.help, option.envvar)
        for path, command in walk(typer.main.get_command(app), [])
        for option in command.params
        if "--database-url" in getattr(option, "opts", ())
    }
    assert {"serve", "worker", "admin list-clinics", "backup"} <= declared.keys()
    assert len(set(declared.values())) == 1, declared
