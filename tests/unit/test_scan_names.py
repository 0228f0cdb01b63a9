"""The name of an uploaded scan as reviewers see it."""

from portal.verification.scans import display_name


def test_a_scan_keeps_the_last_part_of_its_name_without_what_hides_or_reorders_text():
    assert display_name("C:\\Users\\王\\蓋章表.pdf") == "蓋章表.pdf"
    assert display_name("\u202efdp.exe") == "fdp.exe"
    assert display_name("a\r\nb\x0b.png") == "ab.png"
    assert display_name("\u2067x\u2069.jpg") == "x.jpg"
    assert display_name(" \x00 ") == "scan"
    assert len(display_name("長" * 10_000)) == 200
