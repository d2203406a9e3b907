"""Tests for verdicts.py: validating the critic's verdict, the runner-up,
the critic record and the position-bias audit."""

import json
import unittest

from critic import blinding
from critic import verdicts
from core.errors import UsageError


class VerdictTest(unittest.TestCase):
    def test_valid(self):
        v = verdicts.validate_verdict({"pick": "x", "confidence": 0.75, "integrity_concerns": ["hm"],
                                "reasons": " because "}, ["X", "Y"])
        self.assertEqual(v, {"pick": "X", "confidence": 0.75, "integrity_concerns": ["hm"],
                             "reasons": "because"})
        self.assertEqual(verdicts.validate_verdict({"pick": "Neither", "confidence": 0, "reasons": "r"},
                                            ["X", "Y"])["pick"], "neither")

    def test_invalid(self):
        bad = [
            {"pick": "Z", "confidence": 0.5, "reasons": "r"},
            {"pick": "Y", "confidence": 0.5, "reasons": "r"},   # only X was shown
            {"pick": "X", "confidence": 1.5, "reasons": "r"},
            {"pick": "X", "confidence": -0.1, "reasons": "r"},
            {"pick": "X", "confidence": float("nan"), "reasons": "r"},
            {"pick": "X", "confidence": True, "reasons": "r"},
            {"pick": "X", "confidence": 0.5, "reasons": ""},
            {"pick": "X", "confidence": 0.5, "reasons": "r", "integrity_concerns": [1]},
            ["X"],
        ]
        for obj in bad:
            with self.assertRaises(UsageError, msg=obj):
                verdicts.validate_verdict(obj, ["X"])

    def test_parse_verdict_text(self):
        obj = {"pick": "Y", "confidence": 0.6, "integrity_concerns": [], "reasons": "r"}
        for text in (json.dumps(obj), "Verdict:\n```json\n" + json.dumps(obj) + "\n```\n",
                     "I pick Y. " + json.dumps(obj) + " Done."):
            self.assertEqual(verdicts.parse_verdict_text(text), obj)
        with self.assertRaises(UsageError):
            verdicts.parse_verdict_text("I like X better.")


def _state(pick, order=("b", "a"), mode="contest", valid=("a", "b")):
    blind = blinding.blind(list(valid), 0)
    blind["order"] = [s for s in order if s in valid]
    blind["labels"] = {blinding.LABELS[i]: s for i, s in enumerate(blind["order"])}
    return {"mode": mode, "blind": blind,
            "verdict": {"pick": pick, "confidence": 0.5, "integrity_concerns": [], "reasons": "r"},
            "proposals": {s: {"hypothesis": s, "valid": s in valid} for s in blinding.SLOTS}}


class RecordsTest(unittest.TestCase):
    def test_runner_up(self):
        self.assertEqual(verdicts.runner_up(_state("X")), "a")
        self.assertEqual(verdicts.runner_up(_state("Y")), "b")
        self.assertIsNone(verdicts.runner_up(_state("neither")))
        self.assertIsNone(verdicts.runner_up(_state("X", valid=("b",))))
        self.assertEqual(verdicts.resolve_pick(_state("X")), "b")

    def test_critic_record_shape(self):
        st = _state("X")
        st.update(picked="b", measured="b", runner_up="a", packet="p.md")
        rec = verdicts.critic_record(st)
        self.assertEqual(rec["blind"]["labels"], {"X": "b", "Y": "a"})
        self.assertEqual(rec["measured"], "b")
        self.assertEqual(rec["runner_up"], "a")
        self.assertEqual(set(rec["proposals"]), {"a", "b"})
        json.dumps(rec)

    def test_position_bias(self):
        recs = [{"critic": _state("X")} for _ in range(12)] + [_state("neither")]
        rep = verdicts.position_bias(recs)
        self.assertEqual(rep["contests"], 12)
        self.assertEqual(rep["first_shown_picked"], 12)
        self.assertEqual(rep["first_shown_rate"], 1.0)
        self.assertTrue(rep["suspect"])
        self.assertEqual(rep["neither"], 1)
        self.assertEqual(rep["picked_by_proposer"], {"a": 0, "b": 12})
        balanced = [_state("X") for _ in range(6)] + [_state("Y") for _ in range(6)]
        rep = verdicts.position_bias(balanced)
        self.assertEqual(rep["first_shown_rate"], 0.5)
        self.assertFalse(rep["suspect"])
        self.assertAlmostEqual(rep["p_value"], 1.0)
        # single-candidate and runner-up iterations are not contests
        self.assertEqual(verdicts.position_bias([_state("X", valid=("a",)), _state("X", mode="runner_up")])
                         ["contests"], 0)

    def test_binomial(self):
        self.assertAlmostEqual(verdicts._binom_two_sided(0, 4), 2 / 16)
        self.assertAlmostEqual(verdicts._binom_two_sided(10, 10), 2 / 1024)


if __name__ == "__main__":
    unittest.main()
