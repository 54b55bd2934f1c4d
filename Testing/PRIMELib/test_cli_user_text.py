"""The `prime` command with careless or hostile text: usage mistakes are one message and exit status 2,
and user text (paths, ids, values) is never read as rich markup or sent to the terminal as control
characters, and is bounded in length."""

from __future__ import annotations

import pytest

from PRIMELib.cli import MAX_SHOWN_CHARACTERS, main, shown


@pytest.mark.parametrize(
    "argv",
    [
        [],  # bare `prime`
        ["--bogus"],  # unknown option
        ["nosuch"],  # unknown command
        ["score", "--arterial"],  # option without its value
        ["score", "--arterial", "a.nrrd"],  # missing options
        ["synth", "--n-a", "many", "--output", "x"],  # wrong type
    ],
)
def test_usage_mistakes_are_one_message_and_exit_2(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    assert (out + err).strip()


def test_markup_in_a_path_is_printed_as_text_not_parsed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    missing = "c[/]x [bold].json"
    code = main(["score", "--arterial", "a.nrrd", "--venous", "v.nrrd", "--mask", "m.nrrd",
                 "--clinical", missing, "--output", "out"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in out + err
    assert missing in " ".join(err.split())  # shown literally (the console may wrap the line)
    assert not (tmp_path / "out").exists()


def test_terminal_control_and_bidi_overrides_are_shown_escaped():
    text = shown("case\x1b[31mRED\x07\u202eevil\u2066")
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text and "\u2066" not in text
    assert "\\x1b[31mRED" in text.replace("\\[", "[") and "\\u202e" in text and "\\x07" in text


def test_user_text_is_bounded_and_says_how_much_was_left_out():
    text = shown("x" * 200_000)
    assert len(text) < MAX_SHOWN_CHARACTERS + 100
    assert text.endswith(f"({200_000 - MAX_SHOWN_CHARACTERS} more characters)")
    assert shown("ok [b]") == "ok \\[b]"  # rich markup escaped, nothing else changed
