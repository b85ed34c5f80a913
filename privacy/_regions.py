"""City -> region: the generaliser's lookup; the generator draws cities from it too."""

CN_CITIES = {
    "Shanghai": "East China",
    "Hangzhou": "East China",
    "Nanjing": "East China",
    "Beijing": "North China",
    "Tianjin": "North China",
    "Guangzhou": "South China",
    "Shenzhen": "South China",
    "Chengdu": "Southwest China",
    "Chongqing": "Southwest China",
    "Wuhan": "Central China",
    "Xi'an": "Northwest China",
    "Shenyang": "Northeast China",
}
INTL_CITIES = {
    "Singapore": "Southeast Asia",
    "Kuala Lumpur": "Southeast Asia",
    "Jakarta": "Southeast Asia",
    "London": "Europe",
    "Berlin": "Europe",
    "Madrid": "Europe",
    "New York": "North America",
    "Toronto": "North America",
    "Sydney": "Oceania",
}
CITY_REGION = {**CN_CITIES, **INTL_CITIES}
