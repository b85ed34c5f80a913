"""Reference vocabularies the generator draws from (public, made-up values only)."""

from privacy._regions import CITY_REGION, CN_CITIES, INTL_CITIES  # noqa: F401  (the generaliser owns them)

# Chinese surnames with their pinyin, used for names and e-mail local parts.
CN_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"]
CN_SURNAMES_PINYIN = [
    "wang",
    "li",
    "zhang",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "xu",
    "sun",
    "ma",
    "zhu",
    "hu",
    "guo",
]
CN_GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "晓明",
    "子涵",
    "欣怡",
    "梓轩",
    "浩然",
]
INTL_FIRST = [
    "James",
    "Mary",
    "Aisha",
    "Carlos",
    "Priya",
    "Liam",
    "Sofia",
    "Noah",
    "Emma",
    "Yuki",
    "Omar",
    "Chloe",
    "Lucas",
    "Mia",
    "Arjun",
    "Hana",
]
INTL_LAST = [
    "Smith",
    "Garcia",
    "Khan",
    "Muller",
    "Rossi",
    "Tanaka",
    "Silva",
    "Nguyen",
    "Brown",
    "Kim",
    "Novak",
    "Dubois",
    "Haddad",
    "Lopez",
    "Patel",
    "Olsen",
]
CN_EMAIL_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com"]
INTL_EMAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com"]


CATEGORIES = [
    "women_apparel",
    "men_apparel",
    "beauty",
    "skincare",
    "snacks",
    "fresh_produce",
    "mother_baby",
    "digital",
    "home",
    "kitchen",
    "sports",
    "pets",
    "books",
    "toys",
    "health",
    "jewellery",
]

USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0.47",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; 23013RK75C Build/UKQ1) AppleWebKit/537.36 Chrome/120.0 Mobile",
    "Mozilla/5.0 (Linux; Android 13; SM-S9180) AppleWebKit/537.36 Chrome/119.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; HUAWEI P50 Pro) AppleWebKit/537.36 HuaweiBrowser/14.0 Mobile",
    "Mozilla/5.0 (Linux; Android 14; PJA110) AppleWebKit/537.36 Chrome/121.0 Mobile XWEB/1160",
    "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Version/17.2 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/122.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 Version/17.3 Safari/605.1.15",
    "SocialShopApp/5.12.0 (iOS 17.4; iPhone15,2)",
    "SocialShopApp/5.11.3 (Android 13; Redmi Note 12)",
]

CHANNELS = ["feed", "live", "share_link", "group_chat", "search"]
EVENT_TYPES = [
    "view",
    "like",
    "comment",
    "share",
    "follow",
    "add_to_cart",
    "purchase",
    "review",
    "group_buy_join",
    "bargain_help",
    "coupon_claim",
    "live_watch",
    "exposure",
]
PURPOSES = ["analytics", "personalization", "marketing", "model_training", "third_party_sharing"]
# Share of users granting each purpose at sign-up (typical opt-in rates for CN/EU apps).
PURPOSE_GRANT_RATE = {
    "analytics": 0.86,
    "personalization": 0.72,
    "marketing": 0.41,
    "model_training": 0.58,
    "third_party_sharing": 0.17,
}
CONSENT_SOURCES = ["signup_form", "settings_page", "cookie_banner", "in_app_prompt"]
DSR_TYPES = ["access", "erasure", "rectification"]

REVIEW_TEMPLATES_EN = [
    "Great quality, arrived fast. {pii}",
    "The {category} item is exactly as shown, would buy again.",
    "Not bad but packaging was damaged. {pii}",
    "Thanks @{mention} for the group buy link! {pii}",
    "Seller was helpful, contact me if you want details {pii}",
    "Too small, returning it.",
]
REVIEW_TEMPLATES_CN = [
    "质量很好，物流很快 {pii}",
    "和图片一样，会回购的",
    "包装有点破损 {pii}",
    "感谢 @{mention} 分享的拼团链接 {pii}",
    "有问题联系我 {pii}",
    "尺码偏小，已退货",
]
