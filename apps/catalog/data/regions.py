"""Reference regions: real Chinese compute locations (national hub nodes of 东数西算 and the big coastal
markets). Loaded by a data migration so every deployment has them."""

REGIONS = [
    # code, English name, Chinese name, province
    ("cn-shanghai", "Shanghai", "上海", "Shanghai"),
    ("cn-suzhou", "Suzhou", "苏州", "Jiangsu"),
    ("cn-hangzhou", "Hangzhou", "杭州", "Zhejiang"),
    ("cn-beijing", "Beijing", "北京", "Beijing"),
    ("cn-ulanqab", "Ulanqab (Inner Mongolia)", "乌兰察布", "Inner Mongolia"),
    ("cn-guian", "Gui'an (Guizhou)", "贵安", "Guizhou"),
    ("cn-zhongwei", "Zhongwei (Ningxia)", "中卫", "Ningxia"),
    ("cn-chengdu", "Chengdu", "成都", "Sichuan"),
    ("cn-qingyang", "Qingyang (Gansu)", "庆阳", "Gansu"),
    ("cn-shaoguan", "Shaoguan (Guangdong)", "韶关", "Guangdong"),
]
