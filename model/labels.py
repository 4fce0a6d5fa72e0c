"""The fixed label set, in the order every vector and artifact uses."""

from __future__ import annotations

LABELS: tuple[str, ...] = (
    "crypto_marketing",
    "stablecoin_otc",
    "rwa_token",
    "mining",
    "exchange_link",
    "qr_lure",
)
LABEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(LABELS)}

LABEL_DESCRIPTIONS: dict[str, str] = {
    "crypto_marketing": "promotes buying, trading, holding or issuing virtual currencies or tokens",
    "stablecoin_otc": "offers RMB <-> stablecoin conversion, OTC desks, U merchants or stablecoin settlement",
    "rwa_token": "offers or markets real-world-asset tokens to the public",
    "mining": "sells or promotes mining machines, hash power, hosting or pools",
    "exchange_link": "carries a link, app, invite code or group of a crypto exchange or wallet",
    "qr_lure": "asks people to scan a code or add a contact to join a crypto group or claim coins",
}


def check_labels(labels: list[str] | tuple[str, ...]) -> list[str]:
    """Return ``labels`` unchanged, or raise ValueError naming the first unknown label."""
    for name in labels:
        if name not in LABEL_INDEX:
            raise ValueError(f"unknown label {name!r}; expected one of {', '.join(LABELS)}")
    return list(labels)
