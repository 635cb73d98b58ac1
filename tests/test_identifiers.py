"""Identifiers against the spec's sample values (shared/spec/cass-file-formats.md §4)."""

import doctest

import pytest

import casslink.identifiers.agent_code as agent_code
import casslink.identifiers.airline as airline
import casslink.identifiers.airport as airport
import casslink.identifiers.awb as awb
import casslink.identifiers.period as period
import casslink.money as money
from casslink.identifiers import InvalidChecksum, InvalidFormat, InvalidLength


@pytest.mark.parametrize("number", ["160-62144154", "081-70639310", "020 95636343"])
def test_spec_awb_numbers_pass(number):
    assert awb.is_valid(number)


def test_spec_synthetic_awb_fails():
    # 006-70158700: the spec notes this CW sample is a synthetic variant failing mod 7
    with pytest.raises(InvalidChecksum):
        awb.validate("006-70158700")


def test_awb_errors_are_typed():
    with pytest.raises(InvalidLength):
        awb.validate("160-6214415")
    with pytest.raises(InvalidFormat):
        awb.validate("160-6214415X")
    assert awb.calc_check_digit("6214415") == "4"  # 6214415 = 7 * 887773 + 4


@pytest.mark.parametrize("code", ["23470068510", "23470066001", "23470065382", "01196080152"])
def test_spec_agent_codes_pass(code):
    assert agent_code.validate(code) == code


def test_agent_code_check_digit_and_parts():
    assert not agent_code.is_valid("23470068511")
    assert agent_code.numeric_code("2347006-851-0") == "2347006"
    assert agent_code.location_identifier("23470068510") == "8510"
    assert agent_code.format("01196080152") == "0119608-015-2"


def test_airline_airport_period():
    assert airline.validate_prefix("020") == "020"
    assert not airline.is_valid_prefix("20")
    assert airline.validate_designator("lh") == "LH"
    assert not airline.is_valid_designator("12")
    assert airport.validate("dus") == "DUS"
    assert not airport.is_valid("DU")
    assert period.parse("2026-11") == (2026, 11, None)
    assert period.parse("2026-11-2") == (2026, 11, 2)
    assert not period.is_valid("2026-00")
    assert not period.is_valid("2026-11-0")


@pytest.mark.parametrize("module", [awb, agent_code, airline, airport, period, money])
def test_doctests(module):
    failures, _ = doctest.testmod(module)
    assert failures == 0
