"""Assertions the hprose scenario scripts share."""


def check(name, got, want):
    assert got == want, f"{name}: got {got!r}, want {want!r}"


def refused(name, f, needle):
    try:
        f()
    except Exception as e:  # the server's hprose error
        assert needle in str(e), f"{name}: {e}"
        return
    raise AssertionError(f"{name}: not refused")
