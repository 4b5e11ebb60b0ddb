import pytest

from ingest.mqtt import topics


def test_topics_name_the_serial_and_kind():
    assert topics.parse("meters", "meters/EML2137580826/balance") == ("EML2137580826", "balance")


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("other/EML1/reading", "not under meters/"),
        ("meters/EML1/weather", "unknown message kind 'weather'"),
        ("meters/EML 1/reading", "bad meter serial"),
        ("meters//reading", "bad meter serial"),
        # What meter_registry.serial's CHECK refuses: with "$", a trailing newline passed.
        ("meters/EML1\n/reading", r"bad meter serial 'EML1\\n'"),
        ("meters/EML\x001/reading", "bad meter serial"),
    ],
)
def test_other_topics_are_refused_with_a_reason(topic, reason):
    with pytest.raises(ValueError, match=reason):
        topics.parse("meters", topic)


def test_a_shared_group_makes_shared_subscriptions():
    assert topics.filters("meters")[0] == "meters/+/reading"
    assert topics.filters("meters", "ingest") == [
        f"$share/ingest/meters/+/{k}" for k in ("reading", "balance", "health", "tariff", "event")
    ]
