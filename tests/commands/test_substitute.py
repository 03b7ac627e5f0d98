"""A foreach template is compiled once per stage (issue 18): `substituter` fills it per item as `substitute` did."""

from __future__ import annotations

from jobtui.jobs.command_spec import substitute, substituter


def test_a_compiled_template_fills_each_placeholder_inside_its_own_argument() -> None:
    fill = substituter(["conv", "{}", "out/{stem}.png", "{{literal}}", "", "--n={index}", "{dir}|{name}|{ext}"])
    assert fill("in/a b.tar.gz", 3) == ["conv", "in/a b.tar.gz", "out/a b.tar.png", "{literal}", "", "--n=3",
                                        "in|a b.tar.gz|.gz"]
    assert fill("x", 0) == ["conv", "x", "out/x.png", "{literal}", "", "--n=0", ".|x|"]
    assert substituter(["echo", "{{}}"])("it", 1) == ["echo", "{}", "it"], "no placeholder: the item comes last"
    assert substituter([])("it", 1) == ["it"]
    assert substitute(["a; rm -rf x", "{}"], "$(touch y)", 2) == ["a; rm -rf x", "$(touch y)"]
