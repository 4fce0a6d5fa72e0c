"""Slot fillers for the templates: lexicon brands and domains, coins, handles, prices, codes.

Each filler takes the row's ``random.Random`` and returns a string, so a template row is a pure
function of its seed. Brand names and domains come from the lexicon; the rest is generated.
"""

from __future__ import annotations

import random
import string
from functools import lru_cache
from typing import Callable

from model.lexicon import default_lexicon

# How brands are written in posts (the lexicon stores them lower-cased); wallets are kept apart.
_DISPLAY = {
    "binance": "Binance", "okx": "OKX", "huobi": "HTX", "bybit": "Bybit", "bitget": "Bitget", "gate": "Gate",
    "mexc": "MEXC", "kucoin": "KuCoin", "coinbase": "Coinbase", "kraken": "Kraken", "bitmart": "BitMart",
    "lbank": "LBank", "bingx": "BingX", "weex": "WEEX", "phemex": "Phemex", "bitfinex": "Bitfinex",
}
_WALLETS = {"imtoken": "imToken", "tokenpocket": "TokenPocket", "trustwallet": "Trust Wallet",
            "metamask": "MetaMask", "tronlink": "TronLink", "bitpie": "Bitpie"}
_LOOKALIKE_SUFFIX = ("-cn", "-vip", "-app", "-global", "cn", "-web3", "-hk", "-pro", "-zh", "-asia")
_LOOKALIKE_TLD = ("vip", "top", "com", "cc", "xyz", "app", "pro", "cab", "io", "net")


@lru_cache(maxsize=1)
def _brands() -> tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]:
    """(key, display name, zh names, domains) for every exchange and wallet in the lexicon."""
    out = []
    for raw in default_lexicon().document.get("brands", []):
        key = raw["name"]
        display = _DISPLAY.get(key) or _WALLETS.get(key) or key.capitalize()
        out.append((key, display, tuple(raw.get("zh", [])), tuple(raw.get("domains", []))))
    return tuple(out)


def _exchanges() -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    # The big exchanges appear more often, as they do in real spam.
    return [b for b in _brands() if b[0] in _DISPLAY]


_MAJOR = ("binance", "okx", "huobi", "bybit", "bitget", "gate", "mexc")


def _pick_exchange(rng: random.Random) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    ex = _exchanges()
    major = [b for b in ex if b[0] in _MAJOR]
    return rng.choice(major if rng.random() < 0.75 else ex)


def brand(rng: random.Random) -> str:
    return _pick_exchange(rng)[1]


def exch(rng: random.Random) -> str:
    """An exchange as a Chinese post names it: its Chinese name when it has one, else its name."""
    _, display, zh, _ = _pick_exchange(rng)
    return rng.choice(zh) if zh and rng.random() < 0.7 else display


def wallet(rng: random.Random) -> str:
    return rng.choice([b[1] for b in _brands() if b[0] in _WALLETS])


def domain(rng: random.Random) -> str:
    key, _, _, domains = _pick_exchange(rng)
    if domains and rng.random() < 0.6:
        return rng.choice(domains)
    return f"{key}{rng.choice(_LOOKALIKE_SUFFIX)}.{rng.choice(_LOOKALIKE_TLD)}"


def code(rng: random.Random) -> str:
    alphabet = string.ascii_uppercase + string.digits
    n = rng.randint(5, 8)
    prefix = rng.choice(["", "", "BN", "OK", "BG", "HT", "VIP", "GO"])
    return prefix + "".join(rng.choice(alphabet) for _ in range(n - len(prefix) if n > len(prefix) + 2 else 4))


def reflink(rng: random.Random) -> str:
    path = rng.choice(["join/{c}", "register?ref={c}", "invite/{c}", "signup/{c}", "zh-CN/join?code={c}",
                       "activity/referral?inviteCode={c}", "ref/{c}"]).format(c=code(rng))
    scheme = rng.choice(["", "", "https://", "https://www."])
    return f"{scheme}{domain(rng)}/{path}"


_SURNAMES = ("wang", "zhang", "li", "chen", "liu", "zhao", "huang", "zhou", "wu", "sun", "lin", "he", "guo", "ma")
_PREFIX = ("lao", "xiao", "a", "da", "")
_TOPIC = ("btc", "u", "usdt", "bi", "coin", "heyue", "otc", "kuangji", "web3", "alpha", "signal", "trader", "dabing",
          "lumao", "rwa", "hash", "gem", "moon")


def handle(rng: random.Random) -> str:
    """A social-media handle like laowang_888 or btc_xiaoli."""
    person = rng.choice(_PREFIX) + rng.choice(_SURNAMES)
    topic = rng.choice(_TOPIC)
    digits = rng.choice(["", "8", "88", "666", "168", "2025", "518", "99", str(rng.randint(10, 9999))])
    parts = [topic, person] if rng.random() < 0.5 else [person, topic]
    return rng.choice(["_", "", "_"]).join(parts) + (rng.choice(["_", ""]) + digits if digits else "")


def wx(rng: random.Random) -> str:
    return handle(rng)


def tg(rng: random.Random) -> str:
    if rng.random() < 0.35:
        alphabet = string.ascii_letters + string.digits
        return "t.me/+" + "".join(rng.choice(alphabet) for _ in range(rng.randint(12, 16)))
    return rng.choice(["t.me/", "@", "t.me/", "@"]) + handle(rng)


def qq(rng: random.Random) -> str:
    digits = str(rng.randint(10**7, 10**10))
    if rng.random() < 0.5:
        cut = rng.randint(1, 3)
        digits = digits[:cut] + "****" + digits[cut + 4:]
    return digits


def coin(rng: random.Random) -> str:
    return rng.choice(("BTC", "ETH", "SOL", "BNB", "DOGE", "XRP", "TON", "PEPE", "SHIB", "SUI"))


def coin_zh(rng: random.Random) -> str:
    return rng.choice(("比特币", "以太坊", "大饼", "姨太", "狗狗币", "SOL", "BTC", "ETH", "二饼"))


_SYL = ("MO", "ON", "PE", "KA", "ZU", "DO", "LU", "BO", "XI", "TA", "NE", "RA", "GI", "FU", "WEN", "CAT", "DOG", "AI")


def ticker(rng: random.Random) -> str:
    return "$" + "".join(rng.choice(_SYL) for _ in range(rng.randint(2, 3)))


def num(rng: random.Random) -> str:
    return str(rng.choice((2, 3, 5, 8, 10, 12, 15, 20, 30, 50, 66, 88, 100)))


def mult(rng: random.Random) -> str:
    return str(rng.choice((5, 10, 20, 50, 75, 100, 125)))


def bonus(rng: random.Random) -> str:
    return str(rng.choice((10, 20, 30, 50, 66, 88, 100, 200, 500)))


def pct(rng: random.Random) -> str:
    return str(rng.choice((5, 8, 10, 15, 20, 25, 30, 40, 50, 60)))


def winrate(rng: random.Random) -> str:
    return str(rng.randint(78, 96))


def dpct(rng: random.Random) -> str:
    return rng.choice(("0.8", "1", "1.2", "1.5", "2", "3"))


def apy(rng: random.Random) -> str:
    return rng.choice(("6%", "8%", "9.5%", "10%", "12%", "15%", "18%", "24%", "36%"))


def rate(rng: random.Random) -> str:
    return f"7.{rng.randint(12, 32)}"


def rate2(rng: random.Random) -> str:
    return f"7.{rng.randint(24, 38)}"


def amount(rng: random.Random) -> str:
    return rng.choice(("5千", "1万", "3万", "5万", "10万", "20万", "50万"))


def uamt(rng: random.Random) -> str:
    return f"{rng.choice((100, 200, 500, 1000, 2000, 5000, 10000, 20000))}U"


def usd(rng: random.Random) -> str:
    return f"${rng.choice((50, 100, 250, 500, 1000, 5000))}"


def city(rng: random.Random) -> str:
    return rng.choice(("深圳", "上海", "广州", "杭州", "成都", "东莞", "义乌", "厦门", "北京", "昆明", "郑州", "武汉",
                       "南京", "西安", "长沙", "苏州"))


def city_en(rng: random.Random) -> str:
    return rng.choice(("Shenzhen", "Shanghai", "Guangzhou", "Hangzhou", "Chengdu", "Xiamen", "Beijing", "Dubai",
                       "Hong Kong", "Singapore"))


def machine(rng: random.Random) -> str:
    return rng.choice(("S21 200T", "S19 XP 140T", "S21 Pro 234T", "S19k Pro 120T", "L7 9500M", "KS5 Pro 21T",
                       "神马M60S 186T", "神马M50S 126T", "阿瓦隆A1466 150T", "T21 190T", "E9 Pro 3.68G", "L9 16G"))


def price(rng: random.Random) -> str:
    return str(rng.choice((2800, 3500, 4200, 5600, 6800, 8900, 12800, 16500, 23000)))


def power(rng: random.Random) -> str:
    return f"0.{rng.randint(22, 45)}"


def payback(rng: random.Random) -> str:
    return str(rng.choice((120, 150, 180, 240, 300, 365, 420)))


def hashrate(rng: random.Random) -> str:
    return f"{rng.choice((10, 50, 100, 200, 500, 1000))}T"


def asset_zh(rng: random.Random) -> str:
    return rng.choice(("海外房产", "迪拜公寓", "光伏电站收益权", "充电桩收益权", "当代名家油画", "应收账款", "商铺租金收益",
                       "普洱茶园", "波尔多红酒", "实物黄金", "美国国债", "新能源车队运营收益", "冷链仓储"))


def asset_en(rng: random.Random) -> str:
    return rng.choice(("Dubai real estate", "solar farm revenue", "EV charging stations", "fine art",
                       "trade receivables", "US T-bills", "Bordeaux vineyard", "gold bullion",
                       "Bangkok condos", "private credit"))


def date(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"


def when(rng: random.Random) -> str:
    return rng.choice(("今晚8点", "今晚9点", "明早10点", "周五晚上", "本周六", "今天下午3点"))


def hours(rng: random.Random) -> str:
    return str(rng.choice((2, 6, 12, 24, 48, 72)))


def stock(rng: random.Random) -> str:
    return rng.choice(("贵州茅台", "宁德时代", "招商银行", "比亚迪", "中国平安", "紫金矿业", "沪深300ETF", "中证500ETF",
                       "长江电力", "中芯国际", "工商银行"))


def stock_en(rng: random.Random) -> str:
    return rng.choice(("Apple", "Nvidia", "Tesla", "the S&P 500 ETF", "Microsoft", "a total-market index fund",
                       "Berkshire", "gold miners ETF"))


def bank(rng: random.Random) -> str:
    return rng.choice(("工商银行", "建设银行", "招商银行", "农业银行", "中国银行", "交通银行", "邮储银行", "浦发银行",
                       "中信银行", "兴业银行"))


def game(rng: random.Random) -> str:
    return rng.choice(("王者荣耀", "原神", "和平精英", "我的世界", "梦幻西游", "魔兽世界", "英雄联盟", "蛋仔派对", "星穹铁道"))


def police(rng: random.Random) -> str:
    return rng.choice((f"{city(rng)}市公安局", f"{city(rng)}反诈中心", f"{city(rng)}警方", "国家反诈中心",
                       f"{city(rng)}市公安局{rng.choice(('南山', '天河', '西湖', '锦江', '朝阳', '思明'))}分局"))


def court(rng: random.Random) -> str:
    return rng.choice((f"{city(rng)}市中级人民法院", f"{city(rng)}市{rng.choice(('南山', '海淀', '浦东', '天河'))}区人民法院",
                       f"{city(rng)}市人民检察院"))


def llm(rng: random.Random) -> str:
    return rng.choice(("GPT-4o", "Qwen", "DeepSeek", "Claude", "Llama", "GLM", "Kimi", "文心一言"))


def year(rng: random.Random) -> str:
    return str(rng.choice((2025, 2026)))


def years(rng: random.Random) -> str:
    return str(rng.randint(1, 12))


def pct_small(rng: random.Random) -> str:
    return rng.choice(("0.5", "1.2", "2.3", "3.1", "4.8", "6.5"))


SLOT_FILLERS: dict[str, Callable[[random.Random], str]] = {
    name: fn for name, fn in globals().items()
    if callable(fn) and not name.startswith("_") and name not in {"lru_cache", "Callable", "default_lexicon"}
    and getattr(fn, "__module__", "") == __name__
}

__all__ = ["SLOT_FILLERS"]
