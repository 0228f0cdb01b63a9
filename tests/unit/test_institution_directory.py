"""The in-memory institution list the picker searches (institutions/services.Directory)."""

from portal.institutions.services import Directory, InstitutionSummary


def summary(code: str, name: str) -> InstitutionSummary:
    return InstitutionSummary(code, name, "診所", "臺北市")


DIRECTORY = Directory(
    [
        summary("3501200002", "仁愛診所"),
        summary("3501200001", "仁愛診所"),  # same name: listed by code
        summary("1101010012", "臺大醫院"),
        summary("0401180014", "仁愛仁愛醫院"),  # matches twice, listed once
        summary("2101010010", "ABC Clinic"),
        summary("3501200000", "臺北虛擬診所"),
    ]
)


def names_and_codes(found: list[InstitutionSummary]) -> list[tuple[str, str]]:
    return [(institution.name, institution.code) for institution in found]


def test_part_of_a_name_is_found_in_name_then_code_order():
    assert names_and_codes(DIRECTORY.search("仁愛", 10)) == [
        ("仁愛仁愛醫院", "0401180014"),
        ("仁愛診所", "3501200001"),
        ("仁愛診所", "3501200002"),
    ]


def test_the_limit_stops_the_search():
    assert len(DIRECTORY.search("診所", 2)) == 2
    assert len(DIRECTORY.search("診所", 10)) == 3


def test_letters_match_whatever_their_case():
    assert names_and_codes(DIRECTORY.search("abc clinic", 10)) == [("ABC Clinic", "2101010010")]


def test_digits_are_a_code_prefix_in_code_order():
    assert [i.code for i in DIRECTORY.search("350120", 10)] == [
        "3501200000",
        "3501200001",
        "3501200002",
    ]
    assert DIRECTORY.search("3501200000", 10)[0].name == "臺北虛擬診所"
    assert DIRECTORY.search("9", 10) == []


def test_a_query_does_not_match_across_two_names():
    # The names are held as one string: the end of one and the start of the next must not
    # make a match, and a query holding the separator finds nothing.
    assert DIRECTORY.search("醫院仁愛", 10) == []
    assert DIRECTORY.search("所\n仁", 10) == []


def test_an_empty_directory_finds_nothing():
    assert Directory([]).search("診所", 10) == []
    assert Directory([]).search("35", 10) == []
