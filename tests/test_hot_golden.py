"""Golden tests: every decoded sample value quoted in shared/spec/cass-file-formats.md."""

from __future__ import annotations

import datetime as dt

from casslink.canonical import agent_net
from casslink.parsers.hot import read_hot
from tests.hotlines import hot, line

HEADER_DE = "AAADE   03120103123104011501EUR"  # spec §2.1, quoted from CargoSoft


def trailer_de(awb=1, cca=0, dcm=0, total=None):
    total = awb + cca + dcm if total is None else total
    return line("TTT", (5, "DE"), (7, "DE "), (14, f"{awb:07d}"), (21, f"{cca:07d}"),
                (28, f"{dcm:07d}"), (35, f"{total:07d}"))


# AWM of 160-62144154 (spec §2.2, §4.5): 3462.90 + 30.00 + 1808.80 - 20.00 - 10.00 - 1320.90
AWM_160 = line("AWM", (5, "N"), (6, "160"), (9, "62144154"), (19, "DUS"), (22, "23470068510"),
               (33, "R"), (37, "HKG"), (40, "080814"), (46, "0011900"), (53, "K"), (54, "EUR"),
               (57, "000000346290"), (69, "000000003000"), (81, "000000180880"),
               (93, "000000000000"), (105, "000000000000"), (117, "000000000000"),
               (129, "000000000000"), (141, "000000002000"), (153, "0000"),
               (157, "000000001000"), (170, "000000395080"), (194, "080904"),
               (200, "00000.00000"), (211, "000000132090"), (223, "00000000"),
               (231, "00000000"), (239, "000180"))


def test_header_sample_decodes():
    b = read_hot(hot(HEADER_DE, AWM_160, trailer_de()))
    h = b.header
    assert (h.family, h.operation, h.airline_prefix) == ("handoff", "DE", "")
    assert (h.period_start, h.period_end) == (dt.date(2003, 12, 1), dt.date(2003, 12, 31))
    assert h.billing_date == dt.date(2004, 1, 15)
    assert (h.file_number, h.currency) == (1, "EUR")
    assert b.problems == []


def test_awm_160_62144154_decodes_to_spec_values():
    b = read_hot(hot(HEADER_DE, AWM_160, trailer_de()))
    r = b.records.to_pylist()[0]
    assert (r["record_type"], r["airline_prefix"], r["awb_serial"]) == ("AWB", "160", "62144154")
    assert (r["origin"], r["destination"], r["agent_code"]) == ("DUS", "HKG", "23470068510")
    assert r["weight_tenths"] == 11900 and r["weight_unit"] == "K"  # 1190.0 kg
    assert r["weight_pp"] == 346290 and r["valuation_pp"] == 3000
    assert r["oc_carrier_pp"] == 180880 and r["oc_agent_cc"] == 2000
    assert r["commission"] == 1000 and r["discount"] == 132090
    assert r["execution_date"] == dt.date(2008, 8, 14)
    assert r["acceptance_date"] == dt.date(2008, 9, 4)
    assert r["exchange_rate_e5"] == 0 and r["currency"] == "EUR"
    assert r["net_amount"] == 395080  # the DE net 3950.80 at cols 170-181
    assert agent_net(r) == 395080  # and our net formula agrees with it
    assert r["source_line"] == 2


def test_right_trimmed_crlf_lf_and_eof_byte_read_the_same():
    crlf = read_hot(hot(HEADER_DE, AWM_160, trailer_de()))
    trimmed_lf = read_hot(hot(HEADER_DE.rstrip(), AWM_160.rstrip(), trailer_de().rstrip(),
                              newline="\n") + b"\x1a")
    assert trimmed_lf.problems == []
    cols = [c for c in crlf.records.column_names if c != "source_file"]
    assert trimmed_lf.records.select(cols).equals(crlf.records.select(cols))


def test_cca_pair_081_70639310():
    # spec §2.3: CCO repeats the AWM amounts, CCR carries the new ones
    common = [(6, "081"), (9, "70639310"), (19, "FRA"), (22, "23470066001"), (33, "F08067"),
              (39, "EUR"), (42, "00000.00000"), (53, "080820"), (173, "K"), (174, "0002150"),
              (181, "MEL")]
    cco = line("CCO", *common, (59, "P"), (60, "000001480050"), (72, "P"),
               (73, "000000000000"), (85, "P"), (98, "C"), (111, "P"), (112, "000000254056"),
               (160, "000000995670"))
    ccr = line("CCR", *common, (59, "P"), (60, "000001441550"), (72, "P"),
               (73, "000000000000"), (85, "P"), (98, "C"), (111, "P"), (112, "000000249974"),
               (160, "000000969770"))
    b = read_hot(hot(HEADER_DE, cco, ccr, trailer_de(awb=0, cca=2)))
    o, r = b.records.to_pylist()
    assert (o["record_type"], r["record_type"]) == ("CCO", "CCR")
    assert o["correction_number"] == r["correction_number"] == "F08067"
    assert (o["weight_pp"], o["oc_carrier_pp"], o["discount"]) == (1480050, 254056, 995670)
    assert (r["weight_pp"], r["oc_carrier_pp"], r["discount"]) == (1441550, 249974, 969770)
    assert o["weight_tenths"] == 2150  # 215.0
    effect = agent_net(r) - agent_net(o)
    # (14415.50 - 14800.50) + (2499.74 - 2540.56) - (9697.70 - 9956.70) = -166.82
    assert effect == -16682


def test_dcm_6k0732_is_a_credit_of_215_51():
    # spec §4.6: DCM 6K0732 on 020-95636343, O net 507.30, R net 291.79 -> credit 215.51
    common = [(6, "020"), (9, "95636343"), (19, "FRA"), (22, "23470065382"), (33, "6K0732"),
              (39, "EUR"), (42, "00000.00000"), (53, "080811"), (173, "K"), (174, "0000500"),
              (181, "JFK")]
    dco = line("DCO", *common, (59, "P"), (60, "000000050730"))
    dcr = line("DCR", *common, (59, "P"), (60, "000000029179"), (201, "RATE AUDIT"))
    b = read_hot(hot(HEADER_DE, dco, dcr, trailer_de(awb=0, dcm=2)))
    o, r = b.records.to_pylist()
    assert agent_net(o) == 50730 and agent_net(r) == 29179
    assert agent_net(r) - agent_net(o) == -21551
    assert r["reason"] == "RATE AUDIT" and r["correction_number"] == "6K0732"


def test_collect_indicator_routes_amount_to_cc_column():
    dcr = line("DCR", (6, "020"), (9, "95636343"), (22, "23470065382"), (33, "6K0732"),
               (39, "EUR"), (59, "C"), (60, "000000010000"), (98, "C"), (99, "000000000500"))
    r = read_hot(hot(HEADER_DE, dcr, trailer_de(awb=0, dcm=1))).records.to_pylist()[0]
    assert (r["weight_pp"], r["weight_cc"], r["oc_agent_cc"]) == (0, 10000, 500)
    assert (r["weight_pc"], r["oc_agent_pc"]) == ("C", "C")


def test_cns_awm():
    # spec §2.2/§4: CNS sample: agent 0119608-015-2, origin CLT, ROE 00001.00000, blank net
    awm = line("AWM", (6, "176"), (9, "12345675"), (19, "CLT"), (22, "01196080152"), (33, "R"),
               (37, "PEN"), (40, "100405"), (46, "0000215"), (53, "K"), (54, "USD"),
               (57, "000000012000"), (200, "00001.00000"))
    b = read_hot(hot(line("AAA", (4, "US"), (9, "100401"), (15, "100415"), (21, "100421"),
                          (27, "01"), (29, "USD")), awm,
                     line("TTT", (5, "US"), (14, "0000001"), (35, "0000001"))))
    r = b.records.to_pylist()[0]
    assert r["agent_code"] == "01196080152" and r["origin"] == "CLT"
    assert r["exchange_rate_e5"] == 100000  # 1.00000
    assert r["net_amount"] is None  # blank in CNS
    assert r["weight_tenths"] == 215 and r["weight_pp"] == 12000
    assert b.problems == []


def test_trailer_counts_1945_0_48_1993():
    t = line("TTT", (5, "DE"), (7, "DE "), (14, "0001945"), (21, "0000000"), (28, "0000048"),
             (35, "0001993"))
    b = read_hot(hot(HEADER_DE, t))
    assert (b.trailer["awb_count"], b.trailer["cca_count"], b.trailer["dcm_count"]) == (1945, 0,
                                                                                        48)
    assert b.trailer["total_count"] == 1993 == 1945 + 0 + 48
    assert b.trailer["office_code"] == "DE"


def test_billing_header_accepts_als_and_aaa():
    body = line("AWB", (6, "23470068510"), (17, "160"), (20, "62144154"), (53, "EUR"))
    for rid in ("ALS", "AAA"):
        h = line(rid, (4, "DE"), (17, "160"), (20, "261101"), (26, "261130"), (32, "261210"),
                 (38, "01"))
        b = read_hot(hot(h, body, line("TTT", (4, "DE"), (6, "160"), (17, "0000001"))))
        assert b.header.family == "billing" and b.header.record_id == rid
        assert b.header.airline_prefix == "160"
        assert b.header.period_end == dt.date(2026, 11, 30)
        assert b.records.column("agent_code").to_pylist() == ["23470068510"]
