"""Tests for blinding.py: the seeded X/Y order, identity redaction and the
judge packet."""

import unittest

from critic import blinding
from tests.support import SIMPLE_DIFF


class BlindingTest(unittest.TestCase):
    def test_order_is_deterministic_per_seed_and_varies(self):
        self.assertEqual(blinding.order_for_seed(12345), blinding.order_for_seed(12345))
        orders = {tuple(blinding.order_for_seed(s)) for s in range(64)}
        self.assertEqual(orders, {("a", "b"), ("b", "a")})

    def test_new_seed_varies(self):
        from critic import proposals
        self.assertGreater(len({proposals.new_seed() for _ in range(8)}), 1)

    def test_blind_mapping(self):
        for seed in range(20):
            b = blinding.blind(["a", "b"], seed)
            self.assertEqual(b["order"], blinding.order_for_seed(seed))
            self.assertEqual(b["labels"], {"X": b["order"][0], "Y": b["order"][1]})
            self.assertEqual(b["shown_first"], "X")
            self.assertEqual(b["seed"], seed)
        b = blinding.blind(["b"], 7)
        self.assertEqual(b["labels"], {"X": "b"})
        self.assertEqual(blinding.blind([], 7)["labels"], {})

    def test_redaction(self):
        text = ("## Proposer A\nAs ratchet-proposer-a (the conservative proposer) I suggest\n"
                "**Radical approach**\n(conservative) caching, like proposer-b never would.\n"
                "A structural change to the loop.")
        out = blinding.redact_identity(text)
        self.assertFalse(blinding.names_a_proposer(out), out)
        self.assertNotIn("conservative", out.lower())
        self.assertNotIn("radical", out.lower())
        self.assertIn("caching", out)
        self.assertIn("A structural change to the loop.", out)   # ordinary prose is kept

    def test_packet_never_names_a_proposer_and_follows_labels(self):
        entries = {
            "X": {"hypothesis": "I am Proposer B: vectorize", "expected": "faster (radical)",
                  "rationale": "# Radical proposal\nratchet:ratchet-proposer-b says so",
                  "diff": SIMPLE_DIFF, "paths": ["src/fast.py"]},
            "Y": {"hypothesis": "proposer_a: small tweak", "expected": "-1%",
                  "rationale": "conservative approach", "diff": "--- a/q\n+++ b/q\n", "paths": ["q"]},
        }
        text = blinding.render_packet(3, entries, {"goal": "min time_ms", "protected": ["bench.py"],
                                            "history": ["iter 1 improve 10"]})
        self.assertFalse(blinding.names_a_proposer(text), text)
        self.assertNotIn("radical", text.lower())
        self.assertNotIn("conservative", text.lower())
        self.assertLess(text.index("## Candidate X"), text.index("## Candidate Y"))
        self.assertIn("vectorize", text)
        self.assertIn(SIMPLE_DIFF.rstrip("\n"), text)
        self.assertIn("bench.py", text)
        self.assertIn("iter 1 improve 10", text)
        one = blinding.render_packet(3, {"X": entries["Y"]}, {})
        self.assertIn("## Candidate X", one)
        self.assertNotIn("Candidate Y", one)

    def test_packet_fence_outlasts_backticks_in_diff(self):
        diff = "--- a/r.md\n+++ b/r.md\n@@ -1 +1 @@\n-````\n+`````\n"
        text = blinding.render_packet(1, {"X": {"hypothesis": "h", "diff": diff}}, {})
        self.assertIn("``````diff\n", text)


if __name__ == "__main__":
    unittest.main()
