"""Template families for slot-filled training rows: per label and per must-allow class.

A family is a sequence of *parts*; a row picks one alternative per part and fills its ``{slots}``
(see :mod:`data.slots`). A family has base labels; an alternative may add labels (a contact
handle adds ``qr_lure``, a Telegram link ``exchange_link``), so every row's labels follow from
exactly what its text contains. Negative families (with a ``neg_class``) can never add labels.
Conventions follow the seed set: WeChat / QQ contacts and "DM me for the group" are ``qr_lure``;
Telegram handles and links, invite codes, referral links and app downloads are ``exchange_link``;
naming an exchange alone is neither.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from data.schema import NEG_CLASSES
from data.slots import SLOT_FILLERS
from model.labels import LABEL_INDEX, LABELS

Alt = tuple[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Family:
    """A template family: the unit of grouping for generated rows."""

    name: str
    lang: str
    labels: tuple[str, ...]
    parts: tuple[tuple[Alt, ...], ...]
    neg_class: str = ""
    weight: float = 1.0
    joiner: str = ""

    def render(self, rng: random.Random) -> tuple[str, tuple[str, ...]]:
        """One filled text and its labels (base labels plus those of the chosen alternatives)."""
        labels = set(self.labels)
        pieces: list[str] = []
        for part in self.parts:
            text, extra = rng.choice(part)
            labels.update(extra)
            if text:
                pieces.append(_fill(text, rng))
        out = re.sub(r"  +", " ", self.joiner.join(pieces).strip())
        out = re.sub(r"[，、]$", "。", out) if self.lang != "en" else re.sub(r",$", ".", out)
        return out, tuple(sorted(labels, key=LABEL_INDEX.__getitem__))


_SLOT = re.compile(r"\{([a-z_0-9]+)\}")


def _fill(text: str, rng: random.Random) -> str:
    return _SLOT.sub(lambda m: SLOT_FILLERS[m.group(1)](rng), text)


def _alt(item: str | tuple[str, str]) -> Alt:
    if isinstance(item, tuple):
        return item[0], tuple(item[1].split())
    return item, ()


def fam(name: str, lang: str, labels: str, *parts: list, neg: str = "", weight: float = 1.0) -> Family:
    joiner = " " if lang == "en" else ""
    return Family(name, lang, tuple(labels.split()), tuple(tuple(_alt(a) for a in p) for p in parts), neg, weight,
                  joiner)


# --------------------------------------------------------------------------- shared parts

_ZH_CONTACT_LURE = [("加V：{wx}", "qr_lure"), ("➕V {wx}", "qr_lure"), ("vx：{wx}", "qr_lure"), ("薇：{wx}（备注来意）", "qr_lure"),
                    ("扫码进群👇", "qr_lure"), ("扣扣群：{qq}", "qr_lure"), ("私我拉你进群", "qr_lure"),
                    ("长按识别二维码进群", "qr_lure")]
_ZH_TG = [("飞机群 {tg}", "exchange_link"), ("纸飞机：{tg}", "exchange_link"), ("TG：{tg}", "exchange_link"),
          ("电报频道 {tg}", "exchange_link")]
_ZH_REF = [("注册链接：{reflink}", "exchange_link"), ("邀请码 {code}", "exchange_link"),
           ("填我的邀请码 {code} 永久返佣{pct}%", "exchange_link"), ("下载{exch}APP填码 {code}", "exchange_link"),
           ("官网 {domain} 注册就送", "exchange_link")]
_EN_CONTACT_LURE = [("DM me for the group.", "qr_lure"), ("Scan the QR to join 👇", "qr_lure"),
                    ("Add me on WeChat: {wx}", "qr_lure"), ("DM 'VIP' for access.", "qr_lure"),
                    ("QR in bio, scan to join.", "qr_lure")]
_EN_TG = [("Join the TG: {tg}", "exchange_link"), ("Telegram: {tg}", "exchange_link"),
          ("Discord: discord.gg/{wx}", "exchange_link"), ("WhatsApp group: chat.whatsapp.com/{code}", "exchange_link")]
_EN_REF = [("Sign up: {reflink}", "exchange_link"), ("Use my code {code} for a fee discount.", "exchange_link"),
           ("Register on {brand} with ref {code}.", "exchange_link"), ("Download the {brand} app, code {code}.", "exchange_link")]

# --------------------------------------------------------------------------- positives

POSITIVE: tuple[Family, ...] = (
    fam("cm-zh-contract", "zh", "crypto_marketing",
        ["【合约福利】", "📢", "兄弟们，", "还在拿现货慢慢熬？", "新人必看：", "", "周末行情来了！", "今天插针又吃了一波，"],
        ["{exch}合约新用户注册送{bonus}U体验金，", "{exch}永续合约手续费低至万二，", "{mult}倍杠杆做多{coin_zh}，",
         "U本位合约保证金{num}U就能开，", "{exch}杠杆借贷利息降了，", "合约跟单上线，不会看K线也能吃肉，",
         "小资金开{mult}倍，一根针就翻身，", "{coin}永续开多，"],
        ["小资金翻倍不是梦。", "一周收益{pct}%起步。", "月入过万的都在玩这个。", "新手老手都能上车。", "这波不上车等什么？",
         "稳稳赚个三五百。", "", "年化碾压银行理财。"],
        [*_ZH_REF, *_ZH_CONTACT_LURE[:4], *_ZH_TG[:2], "", "评论区扣1拿教程", ("链接私我", "qr_lure")]),
    fam("cm-zh-signals", "zh", "crypto_marketing",
        ["{when}开始带单，", "免费喊单群开放{num}个名额，", "{coin}现货信号每天{num}单，", "跟着老师做合约，",
         "币圈老师亲自带单，胜率{winrate}%，", "群里兄弟今天又吃了{pct}个点，", "专业带单团队，月化{pct}%起，"],
        ["准备好U，", "跟单即赚，", "不懂技术也能跟，", "只做大饼姨太不碰土狗，", "入场点、止盈止损全部给到，", "",
         "不赚钱不收费，"],
        ["名额有限先到先得。", "错过再等一个月。", "上车的都赚麻了。", "亏了算我的。", "", "会员每月{num}9U。"],
        [*_ZH_CONTACT_LURE, *_ZH_TG, ("群主邀请码 {code} 注册有返佣", "exchange_link"), ""]),
    fam("cm-zh-airdrop", "zh", "crypto_marketing",
        ["撸毛党集合：", "空投季来了，", "新项目快照倒计时，", "零撸项目分享：", "又一个大毛来了！", "撸空投的兄弟看过来，"],
        ["交互{num}次就能领空投，", "完成任务领{bonus}U空投，", "跨链{num}U刷交互，预计能分到四位数，",
         "工作室已经开了{num}个号，", "一个号保底{bonus}U，", "{ticker}空投领取今晚截止，", "连接钱包做任务就送币，"],
        ["不撸白不撸。", "早撸早享受。", "财富密码就在这。", "", "错过拍大腿。"],
        [("教程在飞机群 {tg}", "exchange_link"), ("扫码进群领取空投教程", "qr_lure"), ("想要教程的私我", "qr_lure"),
         "评论区扣1", "", ("用{exch}钱包参与，邀请码 {code}", "exchange_link"), ("加V {wx} 拉你进撸毛群", "qr_lure")]),
    fam("cm-zh-meme", "zh", "crypto_marketing",
        ["{ticker}今晚开盘，", "新币预售最后{hours}小时，", "发现一个百倍金狗，", "链上土狗{ticker}刚上线，",
         "千倍币预定：{ticker}，", "{ticker}上车价0.000{num}，", "下一个狗狗币来了，"],
        ["市值才{num}万U，", "团队锁仓{num}个月，", "社区已经{num}千人，", "上所就是十倍起步，",
         "10U变10万U的故事每天都在发生，", "下周上{exch}，"],
        ["梭哈了兄弟们！", "现在不上车以后只能追高。", "早进场就是财富密码。", "冲就完事了🚀", "别说我没提醒你。"],
        [("预售地址在飞机群 {tg}", "exchange_link"), ("加V {wx} 拉你进群", "qr_lure"), "", "", ("扫码进早期群", "qr_lure")]),
    fam("cm-zh-fundraise", "zh", "crypto_marketing",
        ["【生态募资】", "【众筹】", "新公链代币认购：", "项目第{num}期开放，", "", "【DeFi理财】"],
        ["投{uamt}每天静态收益{dpct}%，", "起投500U，年化{pct}0%，", "参与1000U保底返1{num}0U，",
         "持币生息，日息千分之{num}，", "质押挖矿APY {pct}0%，"],
        ["推一个人拿{pct}%直推奖，三代以内都有分红。", "亏了项目方全额兜底，零风险。", "到期还本，按月付息。",
         "已稳定运行{payback}天。", "拉人头奖励另算。"],
        [("详情加V：{wx}", "qr_lure"), "", ("扫码了解项目", "qr_lure"), ("飞机群 {tg}", "exchange_link"), "名额有限"]),
    fam("cm-zh-aircoin", "zh", "crypto_marketing",
        ["派币主网马上开放，", "Pi Network终于要上所了，", "手机挖派币，", "每天点一下就能挖币，", "新出的手机挖矿APP，"],
        ["现在手里的每一个π都是原始股，", "未来至少{num}美元一个，", "早挖的都是千万富翁，", "不花一分钱，",
         "邀请越多挖得越快，"],
        ["还没注册的赶紧！", "晚了就没了。", "千万别卖！", "早就是优势。"],
        [("邀请码：{wx}", "exchange_link"), ("填我的邀请码 {wx} 多拿挖矿速度", "exchange_link"), "", ""]),
    fam("cm-zh-moments", "zh", "crypto_marketing",
        ["熬夜看盘的第{num}0天，", "去年{amount}进币圈，", "感恩带我入圈的大哥，", "朋友圈晒一下这个月收益，",
         "上班三年不如炒币三个月，"],
        ["账户终于突破七位数U。", "现在已经翻了{mult}倍。", "靠{coin_zh}换了辆车。", "提了{num}万U出来。"],
        ["今年也想带几个兄弟一起发财🙏", "还在上班的真的可以了解一下。", "机会只给有准备的人。", "想上车的抓紧。"],
        ["", "私我", ("想了解的加V：{wx}", "qr_lure"), ("扫码进我的交流群", "qr_lure")]),
    fam("cm-en-shill", "en", "crypto_marketing",
        ["GM fam ☀️", "🚨 ALPHA 🚨", "Not financial advice but", "Listen.", "Last call:", ""],
        ["{ticker} presale closes in {hours} hours.", "{ticker} is the next 100x gem.", "just aped into {ticker} at 80k mcap.",
         "{coin} to 250k is programmed.", "the {ticker} fair launch is live right now.", "{ticker} whitelist spots are almost gone."],
        ["Team is doxxed, LP locked.", "Early holders are already up {mult}x.", "Listing on {brand} next week.", "",
         "Stake now for 300% APY."],
        ["LFG 🚀", "Don't miss this one.", "WAGMI.", "Ape in before it's too late.", ""],
        [*_EN_REF[:2], _EN_TG[0], _EN_CONTACT_LURE[0], "Link in bio.", ""]),
    fam("cm-en-signals", "en", "crypto_marketing",
        ["📈 VIP SIGNALS 📈", "Tired of losing on leverage?", "Our traders hit {winrate}% win rate last month.",
         "Free futures calls today:", "Copy my trades."],
        ["{num} calls daily with entry, TP and SL.", "Copy trading on {brand}, fully automated.",
         "{coin} long {mult}x, we called it at the bottom.", "Premium membership {usd}/mo.", "Signal group is open for 48h."],
        ["Guaranteed profit or your money back.", "Join before the next pump.", "", "Only 20 seats left."],
        [*_EN_TG[:2], *_EN_CONTACT_LURE[:2], ("Sign up with my code {code} to copy my trades.", "exchange_link")]),
    fam("cm-en-airdrop", "en", "crypto_marketing",
        ["Airdrop season is here 🪂", "Free airdrop alert!", "Don't sleep on this:", "Claim your free tokens."],
        ["Bridge {usd} to the new L2, do {num} swaps, and you're eligible for a 4-figure drop.",
         "{ticker} airdrop is live, claim before the snapshot.", "Farm points on {brand} Launchpool and stack free tokens.",
         "Stake {coin} to qualify for the {ticker} drop."],
        ["Full guide in thread.", "Easy money.", "Takes 5 minutes.", ""],
        [("Join the farming group: {tg}", "exchange_link"), ("Scan to claim 👇", "qr_lure"), ("DM me for the list.", "qr_lure"), ""]),
    fam("cm-mixed", "mixed", "crypto_marketing",
        ["兄弟们WAGMI！", "今晚 {ticker} 开盘，", "这波 {coin} 必须 long，", "新币 presale 最后一天，", "Alpha 来了，"],
        ["{mult}x leverage 直接冲，", "early 进场就是 alpha，", "不 buy the dip 以后只能 FOMO，", "farm 空投 APR 高达{pct}0%，",
         "copy trading 胜率{winrate}%，"],
        [("register link：{reflink}", "exchange_link"), ("我的 ref code {code}", "exchange_link"), ("DM 我拉你进 VIP 群", "qr_lure"),
         "", ("扫码 join 我们的 community", "qr_lure"), ("TG group：{tg}", "exchange_link")]),

    fam("otc-zh-quote", "zh", "stablecoin_otc",
        ["【诚信U商】", "【老U商·{city}】", "今日汇率：", "💱 ", "长期", "【承兑】"],
        ["{rate}收 {rate2}出，", "收U {rate}，出U {rate2}，", "USDT实时汇率{rate}，", "大量收U，价格{rate}，", "出U {rate2}，"],
        ["支持银行卡/支付宝/微信，", "工商建行秒到，", "大额可谈，", "{city}可约面交，", "押金担保，拒绝黑U，", "TRC20秒转，"],
        ["量大从优。", "秒到账。", "诚信第一。", ""],
        [("联系飞机 @{wx}", "exchange_link"), ("加V {wx}", "qr_lure"), "私聊", ("TG：{tg}", "exchange_link"), "",
         ("扫码进交易群", "qr_lure")]),
    fam("otc-zh-buy-sell", "zh", "stablecoin_otc",
        ["有没有收U的，", "手上有{num}w个U，", "出U找我，", "高价收U，", "急出{uamt}，", "换U的来，", "U换米找我，"],
        ["价格好说", "汇率比所里高", "支付宝秒付", "现金也行", "同城当面", "卡卡相对"],
        ["，懂的来。", "。", "，私。", "，量大优先。"],
        ["", "", ("薇：{wx}", "qr_lure"), ("飞机 @{wx}", "exchange_link")]),
    fam("otc-zh-paofen", "zh", "stablecoin_otc",
        ["招跑分手，", "跑分平台招人：", "兼职跑分，", "承兑团队扩招，", "车队招人，"],
        ["提供支付宝/微信收款码即可，", "一张卡月入过万，", "佣金按U结，", "每万元流水赚{num}0元，", "需卡农，三类卡也收，",
         "押U接单，佣金{dpct}%，"],
        ["稳定不冻卡。", "日结不拖欠。", "在家就能做。", "名额有限。"],
        [("➕薇 {wx}", "qr_lure"), ("飞机 @{wx}", "exchange_link"), "私我", ("扫码入群培训", "qr_lure")]),
    fam("otc-zh-settlement", "zh", "stablecoin_otc",
        ["外贸老板看过来：", "跨境结算新方案：", "出口回款慢？", "货款结算：", "海外供应商付款："],
        ["用USDT结算，", "支持U付款，", "采用泰达币结算，", "人民币换U打给海外供应商，", "国内打人民币，海外收U，"],
        ["绕开SWIFT，3分钟到账，", "汇率{rate}，比银行划算，", "不占外汇额度，", "无需开户，"],
        ["需要的联系。", "长期合作有优惠。", "", ("详询飞机 @{wx}", "exchange_link")]),
    fam("otc-en-desk", "en", "stablecoin_otc",
        ["Need to move RMB out fast?", "OTC desk open 24/7.", "Selling USDT,", "Buying USDT in bulk,", "CNY ⇄ USDT:"],
        ["rate {rate}, card to card.", "we swap CNY→USDT same day, no KYC under 50k.", "Alipay / WeChat Pay / bank card accepted.",
         "delivery to your mainland bank account.", "buy {rate} / sell {rate2}."],
        ["Trusted, fast payout.", "Best rates in town.", "", "Cash meet-ups in {city_en}."],
        ["DM me.", ("TG: @{wx}", "exchange_link"), ("t.me/{wx}", "exchange_link"), ("WeChat: {wx}", "qr_lure")]),
    fam("otc-en-settlement", "en", "stablecoin_otc",
        ["Importers:", "Paying suppliers in China?", "Exporters waiting 5 days for wires?", "B2B settlement made easy:"],
        ["settle invoices in USDT and skip bank delays.", "we convert your USDT and wire CNY to your supplier.",
         "pay in USDT, we handle the yuan side.", "accept USDT and get RMB into any domestic account."],
        ["Fee 0.5%, same-day.", "No FX quota needed.", ""],
        ["Contact us.", ("Telegram @{wx}", "exchange_link"), ("WeChat {wx}", "qr_lure")]),
    fam("otc-mixed", "mixed", "stablecoin_otc",
        ["今日 rate：", "各位 traders，", "OTC desk 开工，", "出金难？"],
        ["buy {rate} / sell {rate2}，", "U to RMB 最快 10 mins，", "USDT 换 CNY 秒到，"],
        ["Alipay、WeChat Pay、bank card 都 OK，", "支持 ICBC、CMB，", "大额 negotiable，"],
        ["DM me", ("或者飞机 @{wx}", "exchange_link"), ("add 我 WeChat {wx}", "qr_lure")]),

    fam("rwa-zh-subscription", "zh", "rwa_token",
        ["【RWA认购】", "RWA白名单开放：", "新项目上线：", "资产上链新机会：", "", "【链上理财】"],
        ["{asset_zh}上链份额化，", "{asset_zh}代币化认购，", "{asset_zh}收益权数字凭证，", "{asset_zh}RWA项目，"],
        ["每份{num}0U起，", "年化{apy}，", "日日分红，", "保底收益{apy}，", "持有即享租金分红，", "可随时链上转让，"],
        ["名额有限。", "白名单{date}截止。", "懂的来。", "预计半年翻倍。"],
        [("详询扣扣：{qq}", "qr_lure"), ("认购入口：{reflink}", "exchange_link"), ("扫码报名", "qr_lure"), "准备好U", "",
         ("加V {wx} 进认购群", "qr_lure")]),
    fam("rwa-zh-social", "zh", "rwa_token",
        ["楼上说RWA是骗局的，", "收藏圈的朋友注意了，", "理财收益越来越低，", "朋友圈第一次发这个，"],
        ["我们二期年化还有{apy}，", "现在{asset_zh}可以买0.1%份额，", "不如看看{asset_zh}上链，", "我在做{asset_zh}份额化认购，"],
        ["跟着升值就行。", "比银行理财强多了。", "来看看。", "亲戚朋友有需要可以问我。"]),
    fam("rwa-en-pitch", "en", "rwa_token",
        ["RWA is the next trillion-dollar narrative 🚀", "Still keeping savings in a bank?", "New pool live:", "Whitelist open:"],
        ["Our tokenized {asset_en} pool is 80% filled.", "Buy fractional ownership tokens of {asset_en}.",
         "Subscribe to tokenized {asset_en} with USDT.", "{asset_en}, on chain, {apy} APY paid monthly."],
        ["Min 50 USDT.", "Chinese residents welcome, just connect your wallet.", "Whitelist closes Friday.", ""],
        ["", ("DM for whitelist.", "qr_lure"), ("Join: {tg}", "exchange_link"), "Ask me how."]),
    fam("rwa-mixed", "mixed", "rwa_token",
        ["RWA 新 pool：", "想要稳定 yield 的看这里，", "这期 RWA whitelist 快满了，"],
        ["{asset_zh} tokenized 份额，", "{asset_en} 上链，", "买 RWA token 分租金，"],
        ["APY {apy}，", "USDT 认购，", "min 100U，"],
        ["DM 我", ("扫码 join", "qr_lure"), ("TG {tg}", "exchange_link"), ""]),

    fam("mine-zh-sale", "zh", "mining",
        ["现货{machine}，", "二手矿机出售：", "{machine}到货{num}台，", "矿场倒闭甩卖：", "蚂蚁矿机期货：", "神马矿机现货："],
        ["成色99新，", "带原装电源，", "单台{price}元，", "保修{num}个月，", "算力稳定，"],
        ["回本周期{payback}天，", "日产币稳定，", "电费{power}元/度回本更快，", ""],
        ["量大从优。", "先到先得🔥", "单台价格私聊。", "包邮。"],
        ["", "看我主页", ("飞机 @{wx}", "exchange_link")]),
    fam("mine-zh-hosting", "zh", "mining",
        ["矿机托管：", "托管位还剩{num}0个，", "丰水期托管，", "【矿场招商】", "水电矿场直营，"],
        ["电价{power}，", "支持S21全系，", "7×24小时运维，", "合同签一年送三个月管理费，"],
        ["回本快风险低。", "名额有限。", "机位充足。", ""],
        ["", "私聊", ("联系飞机 @{wx}", "exchange_link")]),
    fam("mine-zh-cloud", "zh", "mining",
        ["云算力租赁：", "不用买矿机也能挖币：", "【大数据算力中心】", "IDC算力合作：", "算力理财新品："],
        ["{hashrate}起租，", "合约期180天，", "每日产出自动打到你的钱包，", "高性能计算设备共享，收益日结，"],
        ["不用管电费。", "静态回本{payback}天。", "产出日结USDT。", ""],
        ["", "了解私聊", ("加V {wx} 进算力群", "qr_lure")]),
    fam("mine-en-sale", "en", "mining",
        ["Bitcoin miners for sale 🟠", "{machine} in stock.", "Used ASICs, tested:", "Mining rig clearance:"],
        ["new & refurbished, 30-day warranty.", "{num} units ready to ship.", "payback in about {payback} days at 6c power.",
         "crypto or wire accepted."],
        ["Bulk discounts.", "", "Link in bio."],
        ["", "DM for price.", ("Telegram @{wx}", "exchange_link")]),
    fam("mine-en-hosting", "en", "mining",
        ["Host your miners with us.", "Cloud mining contracts:", "Hashrate rental:", "Colocation for 'high-density compute' 😉"],
        ["Hydro power at {power} per kWh.", "{hashrate} from 50 USDT, daily payouts.", "3.5kW per unit, no questions about workload.",
         "join our mining pool, lowest fees."],
        ["Monthly invoicing in BTC or USDT.", "Start earning today.", ""],
        ["", ("Reach out on Telegram {tg}", "exchange_link"), "DM me."]),
    fam("mine-mixed", "mixed", "mining",
        ["新到一批 ASIC miner，", "Cloud hashrate 租赁，", "矿机 hosting 位开放，"],
        ["{machine} 现货，", "电价 {power}，", "expected ROI {payback} 天，"],
        ["欢迎 DM", ("TG {tg}", "exchange_link"), "价格私聊"]),

    fam("ex-zh-invite", "zh", "crypto_marketing exchange_link",
        ["最近{exch}新用户注册送的体验金又加码了，", "{exch}返佣链接更新了，", "新人开户看这里：", "{exch}官方注册入口：",
         "不会注册{exch}的看过来，"],
        ["用我的邀请码 {code} 注册，", "链接：{reflink}，", "邀请码：{code}，", "官网 {domain}，"],
        ["永久返{pct}%手续费。", "新人礼包{bonus}U。", "现货合约手续费都能返。", "有问题私信。"],
        ["", ("扫码下载APP", "qr_lure")]),
    fam("ex-zh-bio", "zh", "exchange_link",
        ["简介：", "个签：", "", "置顶：", "币圈老韭菜｜"],
        ["{domain}/invite/{code}", "{exch}返佣｜邀请码{code}", "{exch}注册链接在主页", "{exch}返佣码：{code}", "{reflink}"],
        ["", "（防吞）", "｜合作私"]),
    fam("ex-zh-group", "zh", "crypto_marketing exchange_link",
        ["【币圈交流群】", "⚠️老群被封，新群在这：", "U圈资讯频道：", "群公告：本群迁移到纸飞机，"],
        ["{tg}，", "飞机搜 @{wx}，", "新群链接 {tg}，", "discord.gg/{wx}，"],
        ["每日大饼姨太行情分析。", "土狗早期盘口第一时间推送。", "交易所活动汇总。", "进群不用审核。"]),
    fam("ex-en-referral", "en", "crypto_marketing exchange_link",
        ["Sign up to {brand} with my link:", "{brand} is giving away up to 30,000 USDT to new users:", "Replying to @{wx}: moved everything to {brand}.",
         "Daily crypto analysis. Use my referral:"],
        ["{reflink}", "code {code}", "ref {code} for 20% off fees"],
        ["", "Welcome bonus inside.", "No KYC for small amounts."]),
    fam("ex-en-bio", "en", "exchange_link",
        ["Full-time trader | 7 yrs |", "🐳 whale calls |", "Crypto | Web3 |", "100x gems daily |", "BTC maxi |"],
        ["{brand} ref in link", "{reflink}", "crypto calls on tg: {wx}", "{brand} code {code}", "{brand} signup: {domain}"]),
    fam("ex-mixed", "mixed", "crypto_marketing exchange_link",
        ["same here 我也在用 {brand}，", "{brand} 的 Launchpool 又开了，", "新人 guide：step 1 下载 {brand}，"],
        ["link 在这👉 {reflink}", "没账号的用我 ref：{code}", "所有 links 在 {tg}"]),

    fam("qr-zh-scan-join", "zh", "crypto_marketing qr_lure",
        ["币圈交流群扫码即可进入，", "二维码在海报右下角，", "没进群的扫图里的码，", "空投福利群，", "合约群满200人就不收了，"],
        ["每日早晚两次行情分析，", "扫一扫领币，", "明天还有单，", "扫码领{bonus}U，", "带你抓住下一个百倍币🚀"],
        ["", "领完记得截图发群里。", "进群先改备注。"]),
    fam("qr-zh-addv", "zh", "crypto_marketing qr_lure",
        ["想要内部信号的", "不会搞的", "想学的", "带单老师招学员，", "佳V（谐音懂吧）："],
        ["➕薇：{wx}，", "加我 vx {wx}，", "V：{wx}，", "扣扣：{qq}，", "{wx}，"],
        ["备注“币圈”秒通过。", "拉你进合约群。", "手把手教开户。", "每天三单。"]),
    fam("qr-zh-username", "zh", "crypto_marketing qr_lure",
        ["用户名：", "昵称：", "个签：", ""],
        ["扫码领U小助手", "币圈带单｜扫主页码进群", "大饼分析｜加V{wx}", "合约10年｜进群看置顶码", "空投群主｜私信进群"]),
    fam("qr-en-dm", "en", "crypto_marketing qr_lure",
        ["anyone want the airdrop list?", "🔥 100x gems daily 🔥", "Claim your {ticker} bonus —", "Want my signals?"],
        ["dm me, sending to the first 20.", "scan → join → profit.", "scan the code and connect your wallet 👇", "DM for the VIP group."],
        [""]),
    fam("qr-mixed", "mixed", "crypto_marketing qr_lure",
        ["加V get daily signals，", "Our 群二维码 below，", "撸 airdrop 的兄弟进群："],
        ["V：{wx}", "scan QR 进 WeChat 群👇", "DM 我拉你"]),
    fam("qr-zh-otc", "zh", "stablecoin_otc qr_lure",
        ["长按识别二维码，", "👇扫码加我好友，", "出U找我✅"],
        ["添加U商客服，", "专业换U，", "扫码进交易群✅"],
        ["支持微信、支付宝、银行卡三通道。", "小白手把手教。", "担保交易。"]),
    fam("mine-zh-app", "zh", "crypto_marketing mining qr_lure",
        ["手机挂机挖矿，", "不信你看我钱包，", "新手免费领矿机，"],
        ["挖了半年的币刚上交易所！", "充电时自动挖，", "每天签到就产币，"],
        ["加V：{wx} 拉你进群领新手矿机", "扫码进群领矿机", "扫码下载挖矿APP"]),
)

# Promotional tails appended to (or buried inside) an otherwise harmless post.
TAILS: tuple[Family, ...] = (
    fam("tail-zh-exchange", "zh", "crypto_marketing exchange_link",
        ["——\n", "P.S. ", "\n\n", "顺便说一下，", "（广告）"],
        ["最近在用{exch}，新人注册送{bonus}U，邀请码 {code}", "{exch}注册链接：{reflink}", "想炒币的用我的邀请码 {code}",
         ("币安注册扫码👉图9", "qr_lure"), ("{exch}下载扫码，填邀请码 {code}", "qr_lure")]),
    fam("tail-zh-group", "zh", "crypto_marketing qr_lure",
        ["——\n", "P.S. ", "\n\n", "另："],
        ["想跟我一起做合约的加V {wx}", "币圈交流群扫码进，每天带单", "想要空投教程的私我进群"]),
    fam("tail-zh-tg", "zh", "crypto_marketing exchange_link",
        ["\n\n", "——\n", "最后，"],
        ["撸毛群在纸飞机：{tg}", "行情分析频道 {tg}，进群领空投", "飞机搜 @{wx} 每天喊单"]),
    fam("tail-zh-otc", "zh", "stablecoin_otc",
        ["\n\n", "P.S. ", "——\n"],
        ["顺便收U出U，汇率{rate}，需要的私", "长期换U，{rate}，支付宝秒到"]),
    fam("tail-zh-mining", "zh", "mining",
        ["\n\n", "——\n"],
        ["另出几台{machine}，回本{payback}天，私聊", "矿机托管电价{power}，有需要的找我"]),
    fam("tail-zh-rwa", "zh", "rwa_token",
        ["\n\n", "——\n"],
        ["最近在认购{asset_zh}的RWA份额，年化{apy}，想了解的私我", "{asset_zh}上链份额化，每份100U起"]),
    fam("tail-en-exchange", "en", "crypto_marketing exchange_link",
        ["\n\nP.S.", "\n\n—", "Btw,"],
        ["I trade on {brand}, sign up with my code {code} for a bonus.", "grab the {brand} welcome bonus here: {reflink}",
         "free signals in my Telegram {tg}"]),
    fam("tail-en-lure", "en", "crypto_marketing qr_lure",
        ["\n\nP.S.", "\n\n—"],
        ["DM me for my crypto signals group.", "scan the QR in my bio to claim free USDT."]),
    fam("tail-en-otc", "en", "stablecoin_otc",
        ["\n\nP.S.", "Btw"],
        ["still swapping USDT↔RMB at {rate}, ping me.", "I buy USDT for CNY, best rate, DM."]),
)

# --------------------------------------------------------------------------- negatives

_ZH_NEWS_OPEN = ["【快讯】", "据报道，", "记者从有关部门获悉，", "财经早报：", "", "新闻速递：", "#热点# ", "【政策解读】", "转发：",
                  "早间新闻：", "据{city}日报报道，"]
_ZH_CHAT_CLOSE = ["", "记录一下。", "大家怎么看？", "有没有懂的？", "哈哈。", "真是的。", "说多了都是泪。", "🙂", "分享给大家。", "完毕。"]
_EN_CLOSE = ["", "Thoughts?", "Just saying.", "FYI.", "Stay safe.", "Any tips?", "lol", "What a week."]

NEGATIVE: tuple[Family, ...] = (
    # news_analysis: regulation, market news and opinion, dense with the positives' vocabulary.
    fam("neg-news-zh", "zh", "",
        _ZH_NEWS_OPEN,
        ["中国人民银行等部门召开会议，明确稳定币属于虚拟货币，", "七家行业协会发布倡议，要求平台不得为虚拟货币提供营销推广、引流服务，",
         "多地市场监管部门要求企业名称和经营范围不得使用“虚拟货币”“RWA”等字样，", "监管部门重申，境外交易所向境内居民提供服务属于非法金融活动，",
         "有关部门点名{exch}等境外平台违规向境内用户提供服务，", "会议指出，面向境内居民发行的RWA代币属于非法金融活动，",
         "多地继续清理整治虚拟货币挖矿，以“云算力”“大数据”名义变相挖矿同样被禁止，", "多家平台下架了带有邀请码、注册链接的帖子，",
         "央行表示，USDT、USDC等稳定币不具有法偿性，", "支付机构被要求排查涉及USDT场外交易的异常账户，",
         "{city}查处一批以“数字资产”名义开展的非法集资活动，", "监管通报{num}起利用“空投”“撸毛”名义引流的违规案例，"],
        ["相关业务一律按非法金融活动处理。", "平台需下架相关链接、二维码和邀请码。", "分析人士认为，USDT兑换人民币的场外交易将受到更严格打击。",
         "业内人士提醒公众不要点击境外平台链接、不要扫描其二维码。", "专家表示，这是对此前政策的延续。", "境内协助者同样要承担法律责任。",
         "具体细则有待进一步公布。", "该消息引发市场广泛关注。"],
        neg="news_analysis", weight=1.5),
    fam("neg-market-zh", "zh", "",
        ["行情观察：", "【市场】", "数据显示，", "复盘：", "研报摘要：", "周报：", "", "盘后点评："],
        ["{coin}过去24小时下跌{pct_small}%，", "全网爆仓超{num}亿元，", "稳定币总市值突破{num}00亿美元，",
         "{brand}的合约持仓量创下新高，", "所谓“百倍币”七成在上线三个月内归零，", "比特币全网算力再创新高，矿工收入下滑，",
         "链上数据显示，大量土狗币在上线一周内流动性枯竭，", "{coin}与美股的相关性明显上升，", "空投代币上线后普遍遭遇抛压，",
         "以太坊质押率升至{pct}%，", "某交易所平台币一周内腰斩，"],
        ["分析师认为短期波动仍将加剧。", "研究显示散户亏损面超过八成。", "本文不构成任何投资建议。", "市场情绪仍偏谨慎。",
         "需要注意的是，境内参与此类交易不受法律保护。", "后续走势有待观察。"],
        neg="news_analysis"),
    fam("neg-opinion-zh", "zh", "",
        ["说真的，", "评论区那些喊单的看看就好，", "我一个同事", "看到又有人在群里吹，", "币圈这些年，", "回复@{wx}：", "",
         "我妈今天问我，", "忍不住吐槽一句，"],
        ["“财富密码”“百倍币”听多了就知道是割韭菜，", "天天发邀请码的，自己根本不交易，", "开了{mult}倍合约，一根针就爆仓了，",
         "所谓空投领U，其实就是骗你授权钱包，", "土狗币十个有九个是跑路盘，", "说收U价格高的，最后都是冻卡，",
         "卖矿机的说半年回本，电费一算根本回不了本，", "RWA年化{apy}还保本？这话你也信，", "带单老师晒的收益图都是P的，",
         "扫码进群领币的，进去就让你充值，", "跑分说是兼职，其实是帮人洗钱，"],
        ["大家别上车。", "真的别碰。", "看看就好，别当真。", "劝大家远离。", "吃一堑长一智。", "珍爱钱包。"],
        neg="news_analysis", weight=1.5),
    fam("neg-news-en", "en", "",
        ["Breaking:", "Analysis:", "Market note:", "Opinion:", "Research thread:", "", "Context:", "Newsletter:"],
        ["China declared stablecoins such as USDT to be virtual currency and banned related business.",
         "industry associations told platforms to remove exchange links, QR codes and invite codes.",
         "{coin} fell {pct_small}% as liquidations topped $1bn.", "{brand} and other offshore exchanges are barred from serving mainland users.",
         "the RWA boom in Hong Kong contrasts with a mainland ban on sales to residents.",
         "most '100x gem' presales lose 90% of their value within months.", "copy-trading leaderboards are mostly survivorship bias.",
         "mining disguised as 'cloud computing' is now explicitly banned in China.", "stablecoin supply grew {pct}% this quarter."],
        ["Analysts expect stricter enforcement.", "This is not investment advice.", "", "Compliance teams are reviewing exposure.",
         "Worth reading the full notice."],
        neg="news_analysis"),
    # fraud_warning: police, bank and court notices that quote the lures they warn against.
    fam("neg-fraud-zh", "zh", "",
        ["【{police}提醒】", "反诈提醒：", "{bank}温馨提示：", "警方通报：", "【防骗指南】", "社区网格员提醒：", "家长群转发：",
         "【风险提示】"],
        ["凡是要求你“扫码进群领U”“加V带单”的，都是诈骗！", "近期有不法分子冒充{exch}客服，发送“注册送{bonus}U”链接，",
         "有人以高价收U为名，诱导出借银行卡参与跑分，", "所谓“云算力挖矿日赚{dpct}%”是典型的资金盘骗局，",
         "不法分子以“RWA份额认购、保本年化{apy}”为幌子非法集资，", "请勿扫描来历不明的二维码，更不要下载境外交易所APP，",
         "所谓“老师带单”“飞机群喊单”都是杀猪盘的套路，", "接到自称“客服”要求把钱换成USDT转到“安全账户”的电话，一律是诈骗，",
         "“手机挖矿、邀请返利”类APP多为传销，", "骗子常以“空投福利、连接钱包领币”为诱饵盗取资产，"],
        ["已有多名市民被骗。", "切勿轻信，如有疑问请拨打96110。", "出借、出售银行卡涉嫌帮信罪。", "发现可疑情况请及时报警。",
         "请转告家中老人。", "守护好自己的钱袋子。"],
        neg="fraud_warning", weight=1.5),
    fam("neg-court-zh", "zh", "",
        ["{court}近日审结一起案件：", "检察机关披露典型案例：", "法院判决书显示，", "庭审现场：", "案例通报："],
        ["被告人以“带单炒币稳赚不赔”为名，在飞机群内诱导被害人充值USDT，", "被告人组织他人跑分，为诈骗团伙将资金转换为USDT，",
         "被告人冒充U商，收取被害人{amount}元后拒不发币，", "被告人开设“云算力”平台，承诺回本周期{payback}天，",
         "被告人在朋友圈发布交易所邀请码和返佣链接，为境外平台引流，", "被告人以“RWA房产份额”为名向{num}0余人非法吸收资金，",
         "被告人出售矿机并承诺托管收益，实际并未开机，"],
        ["以诈骗罪判处有期徒刑{years}年。", "一审以帮助信息网络犯罪活动罪定罪。", "涉案金额{amount}元已被依法追缴。",
         "法院同时提醒公众提高警惕。", "案件仍在进一步审理中。"],
        neg="fraud_warning"),
    fam("neg-fraud-en", "en", "",
        ["⚠️ Scam alert:", "Police warning:", "PSA from your bank:", "Court news:", "Reminder to the group:", "Mod note:", ""],
        ["anyone promising 'scan to claim free USDT' is a scammer.", "fake {brand} support accounts are DMing users with 'bonus' links.",
         "a man was sentenced to {years} years for running a crypto signals group that took {usd} from each victim.",
         "'cloud mining' apps promising daily returns are Ponzi schemes.", "never add strangers who offer to 'teach you trading'.",
         "people renting out bank cards to 'USDT merchants' are being charged with money laundering.",
         "posts with exchange referral codes or Telegram group links will be removed.",
         "'RWA' pitches promising guaranteed yield to mainland buyers are illegal and usually fake."],
        ["Report it, don't engage.", "Stay safe.", "No legit exchange will ask for your seed phrase.", "", "Share with your parents."],
        neg="fraud_warning"),
    # ecny
    fam("neg-ecny-zh", "zh", "",
        ["【{bank}数字人民币】", "数字人民币福利来了！", "好消息：", "{city}发放数字人民币消费券：", "新闻：", "", "家人们，"],
        ["开通数字人民币钱包，扫码支付立减{num}元，", "用数字人民币乘地铁享8折优惠，", "数字人民币红包雨{when}开启，",
         "邀请好友开通数字人民币钱包，双方各得{num}元，", "数字人民币试点扩大到工资发放，", "数字人民币硬钱包支持碰一碰支付，",
         "用数字人民币交物业费送{num}元立减金，", "外卖平台支持数字人民币支付，满30减{num}，", "数字人民币可以直接缴纳税费了，"],
        ["活动详情请扫描下方二维码。", "数量有限，先到先得。", "详询网点工作人员。", "下载数字人民币APP参与。",
         "数字人民币是央行发行的法定货币。", ""],
        neg="ecny"),
    fam("neg-ecny-en", "en", "",
        ["e-CNY update:", "Travel tip:", "Bank promo:", "CBDC news:", ""],
        ["visitors can now top up the e-CNY app with foreign cards.", "{city_en} is handing out digital yuan vouchers, scan to claim in the app.",
         "the digital RMB pilot expanded to salary payments.", "pay with e-CNY and get 10 yuan off.",
         "the e-CNY wallet now supports tap-to-pay hardware cards."],
        ["", "Details in the official app.", "The e-CNY is issued by the central bank, unlike crypto."],
        neg="ecny"),
    # blockchain_tech
    fam("neg-chain-zh", "zh", "",
        ["区块链溯源：", "【技术科普】", "联盟链应用：", "课堂笔记：", "开发日志：", "", "面试题："],
        ["扫一扫包装上的二维码，就能查看这罐奶粉从牧场到货架的全过程，", "比特币通过工作量证明让矿工竞争记账权，",
         "政务联盟链不发行任何代币，只用于数据共享，", "哈希函数保证区块不可篡改，", "区块链电子发票已在{city}推广，",
         "UTXO模型和账户模型的区别在于余额的记录方式，", "这次升级把联盟链节点扩到了{num}0个，", "默克尔树让轻节点可以验证交易，",
         "司法区块链让电子证据可以上链存证，", "供应链金融平台用区块链记录应收账款流转，不发行代币，"],
        ["这就是上链存证的意义。", "整个系统不涉及任何虚拟货币。", "考试会考这个。", "技术本身是中性的。", "原理其实不复杂。"],
        neg="blockchain_tech"),
    fam("neg-chain-en", "en", "",
        ["Explainer:", "Lecture notes:", "Supply-chain pilot:", "TIL:", "Dev log:", ""],
        ["Bitcoin miners compete to find a hash below the target; the difficulty adjusts every 2016 blocks.",
         "our consortium chain tracks coffee beans from farm to cup, no tokens involved.",
         "a Merkle tree lets a light client verify a transaction with a short proof.",
         "an ERC-20 contract is just a ledger of balances with a transfer function.",
         "the halving cuts the block subsidy in half roughly every four years.",
         "a mining pool splits rewards by submitted shares, which smooths variance."],
        ["", "Good read for the exam.", "Nothing here is investment advice."],
        neg="blockchain_tech"),
    # legal_abs
    fam("neg-abs-zh", "zh", "",
        ["【证监会备案】", "据公告，", "律师解读：", "新闻：", "研究："],
        ["某公司以境内光伏电站收益为基础资产，在香港发行资产支持证券代币，", "经证监会备案的ABS代币仅面向境外机构投资者发行，",
         "境内资产在境外发行ABS代币须向证监会备案，", "首单备案的资产支持证券代币完成定价，", "某租赁公司以境内应收账款为底层资产在境外发行代币化ABS，"],
        ["不向境内居民销售。", "这与向公众兜售的RWA代币有本质区别。", "境内个人无法参与认购。", "发行对象为境外专业投资者。"],
        neg="legal_abs"),
    fam("neg-abs-en", "en", "",
        ["Legal note:", "Deal news:", "Q&A:", ""],
        ["a CSRC-filed ABS token backed by onshore receivables was issued in Hong Kong to institutional investors only.",
         "the legal route lets domestic assets back tokens sold offshore after a filing with the securities regulator.",
         "unlike retail RWA pitches, these notes are not offered to mainland residents.",
         "the second filed ABS token priced at a spread similar to a conventional bond."],
        ["", "Retail investors cannot subscribe."],
        neg="legal_abs"),
    # tradfi
    fam("neg-tradfi-zh", "zh", "",
        ["【{bank}理财】", "股民朋友们，", "基金定投小课堂：", "今日A股：", "黄金积存金：", "客户经理朋友圈：", ""],
        ["{stock}今天涨了{pct_small}%，", "新发债券基金年化业绩比较基准{apy}，", "沪深300定投三年收益{pct}%，",
         "大额存单利率{pct_small}%，", "金价再创新高，", "扫码进股票交流群，每天复盘{stock}，", "国债逆回购年化{pct_small}%，",
         "外汇牌价：美元兑人民币{rate}，", "可转债打新又中了一签，"],
        ["理财有风险，投资需谨慎。", "详询客户经理。", "想上车的注意仓位。", "加我微信了解基金定投。", ""],
        neg="tradfi", weight=1.3),
    fam("neg-tradfi-en", "en", "",
        ["Market wrap:", "Personal finance tip:", "Bank ad:", "Broker promo:", ""],
        ["{stock_en} rose {pct_small}% after earnings.", "dollar-cost averaging into an index fund beats timing the market.",
         "open a savings account and earn {pct_small}% on term deposits.", "get a free stock when you open a brokerage account.",
         "gold hit a record as the dollar weakened.", "the 10-year yield slipped to 4.1%."],
        ["", "Past performance is no guarantee.", "Join our stock-picking Discord for daily notes."],
        neg="tradfi"),
    # ordinary_qr
    fam("neg-qr-zh", "zh", "",
        ["温馨提示：", "", "【通知】", "致顾客：", "小区公告：", "{city}某餐厅："],
        ["本店支持扫码点餐，", "请扫码付款，", "扫描小票上的二维码即可开具电子发票，", "停车场出口请扫码缴费，",
         "博物馆展品旁扫码即可收听语音导览，", "新业主请扫码进业主群，", "扫码关注公众号领{num}元优惠券，", "WiFi请扫前台二维码连接，",
         "医院门诊可扫码挂号缴费，", "羽毛球群长按识别二维码加入，", "快递柜扫码取件，", "景区扫码入园，"],
        ["谢谢配合。", "有问题请找前台。", "不再收取现金。", "", "祝您生活愉快。"],
        neg="ordinary_qr", weight=1.3),
    fam("neg-qr-en", "en", "",
        ["", "Heads up:", "Notice:", "FYI:"],
        ["scan the QR on your table to order.", "scan to pay at checkout.", "scan the code for the museum audio guide.",
         "scan to join our hiking group chat.", "scan the QR on the receipt to get your e-invoice.",
         "add me on WeChat ({wx}) for the book club.", "scan the poster to register for the 5k run."],
        ["Thanks!", "", "See you there."],
        neg="ordinary_qr"),
    # word_collision: one family per colliding sense, so each row reads as one coherent post.
    fam("neg-col-game", "zh", "",
        ["", "求问：", "吐槽：", "{game}玩家："],
        ["{game}的金币怎么攒得快，", "小时候最爱拿游戏币抓娃娃，", "孩子偷偷充了{num}0个Q币，", "点券和金币到底怎么换算，",
         "新版本空投箱刷新太快了，", "游戏里搬砖一天能出多少金币，"],
        _ZH_CHAT_CLOSE, neg="word_collision"),
    fam("neg-col-usb", "zh", "",
        ["", "日常：", "分享：", "记一下："],
        ["U盘插电脑没反应，", "{num}个64G的U盘便宜出，", "坐飞机带个U型枕真舒服，", "U17国少今晚比赛，", "厨房做成U型布局，",
         "U盾证书到期了要去柜台更新，", "这个路口禁止U型掉头，"],
        _ZH_CHAT_CLOSE, neg="word_collision"),
    fam("neg-col-mining", "zh", "",
        ["", "新闻：", "家乡记忆：", "转："],
        ["老家的煤矿停产整顿了，", "矿山机械博览会在{city}开幕，", "铁矿石期货合约今天大涨，", "二手矿用挖掘机出售，车况好，",
         "金矿事故救援有了新进展，", "井下作业安全培训开始报名，", "矿区生态修复后变成了公园，", "煤矿招井下电工，待遇面议，"],
        _ZH_CHAT_CLOSE, neg="word_collision"),
    fam("neg-col-contract", "zh", "",
        ["", "吐槽：", "咨询：", "科普："],
        ["合约机到期了想换套餐，", "租房合约里押金怎么退，", "劳动合约没签满一年能走吗，", "球员续约合同细节公布了，",
         "运营商合约套餐送话费，", "民法典里的合同违约条款，"],
        _ZH_CHAT_CLOSE, neg="word_collision"),
    fam("neg-col-airdrop", "zh", "",
        ["", "新闻：", "转发：", "笑死："],
        ["直升机向受灾村庄空投物资，", "无人机给被困群众空投食品和药品，", "吃鸡落地先去抢空投箱，", "我们部门又被“空投”了一个领导，",
         "救援队向山顶空投了保暖物资，"],
        _ZH_CHAT_CLOSE, neg="word_collision"),
    fam("neg-col-misc-zh", "zh", "",
        ["", "分享：", "今天", "日常："],
        ["早饭吃了个大饼，", "在家撸猫撸毛，", "村里的土狗又生了一窝，", "折纸飞机比赛拿了第一，", "视频比特率调到8M，",
         "模型按token计费，一百万tokens几块钱，", "供应链断了，门店缺货，", "我的世界挖矿挖到钻石了，", "32位程序在新系统跑不了，",
         "连锁餐厅又开了一家分店，", "周末上车去郊游，", "梭哈了一盘麻辣烫，"],
        _ZH_CHAT_CLOSE, neg="word_collision", weight=1.3),
    fam("neg-collide-en", "en", "",
        ["", "Quick question:", "lol", "Update:", "Random thought:"],
        ["mined my first diamonds in Minecraft.", "my prompt used 4,000 tokens.", "AirDrop from my iPhone won't work.",
         "the supply chain delay hit our store.", "is this app 32-bit or 64-bit?", "bought arcade tokens for the kids.",
         "the coal mine reopened after the safety check.", "the U-turn ban starts Monday.", "data mining exam tomorrow.",
         "my phone contract ends next month.", "paper planes contest at school today."],
        _EN_CLOSE, neg="word_collision"),
    fam("neg-mixed", "mixed", "",
        ["今天的 news：", "FYI：", "分享一个 case：", "提醒一下 group 里的朋友：", ""],
        ["USDT 被认定为 virtual currency，OTC 也算违法，", "有人冒充 {brand} support 发 link，是 scam，",
         "e-CNY 和 stablecoin 完全不是一回事，", "有人在群里喊单，别 follow，", "RWA 在 mainland 卖给散户是违法的，"],
        ["大家注意。", "仅供参考。", "stay safe。", ""],
        neg="news_analysis"),
    fam("neg-chain-mixed", "mixed", "",
        ["", "Dev note：", "面试复盘："],
        ["我们 team 的 consortium chain 不发 token，", "讲了 Merkle tree 和 PoW 的原理，", "supply chain 溯源 demo 跑通了，"],
        ["挺有意思。", "下周继续。", ""],
        neg="blockchain_tech"),
    fam("neg-qr-mixed", "mixed", "",
        ["餐厅的 QR code", "hotel 的 WiFi", "museum 的 audio guide", "school 家长群"],
        ["扫一下就能 order，", "扫一下就连上了，", "扫码就能听，", "扫码就能 join，"],
        ["很 convenient。", "nice。", ""],
        neg="ordinary_qr"),
    fam("neg-tradfi-mixed", "mixed", "",
        ["", "Weekly update：", "分享："],
        ["index fund 定投了三年，", "US stocks 这周回调，", "bond ladder 配置好了，", "gold ETF 又涨了，"],
        ["长期持有。", "not financial advice。", ""],
        neg="tradfi"),
)

FAMILIES: tuple[Family, ...] = POSITIVE + NEGATIVE


def _validate(families: tuple[Family, ...]) -> None:
    names = [f.name for f in families]
    if len(names) != len(set(names)):
        raise ValueError("duplicate template family name")
    for f in families:
        for part in f.parts:
            for text, extra in part:
                for slot in _SLOT.findall(text):
                    if slot not in SLOT_FILLERS:
                        raise ValueError(f"family {f.name}: unknown slot {{{slot}}}")
                for name in extra:
                    if name not in LABELS:
                        raise ValueError(f"family {f.name}: unknown label {name!r}")
                if f.neg_class and extra:
                    raise ValueError(f"negative family {f.name} adds labels {extra}")
        if f.neg_class and f.labels:
            raise ValueError(f"negative family {f.name} has labels")
        if f.neg_class and f.neg_class not in NEG_CLASSES:
            raise ValueError(f"family {f.name}: unknown neg_class {f.neg_class!r}")
        if not f.neg_class and not f.labels:
            raise ValueError(f"family {f.name} has neither labels nor a neg_class")


_validate(FAMILIES + TAILS)

__all__ = ["FAMILIES", "Family", "NEGATIVE", "POSITIVE", "TAILS"]
