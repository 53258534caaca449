"""User-facing Chinese texts of the bot, kept in one place (knowledge/present.py holds the
texts that describe answers themselves)."""

from __future__ import annotations

CONSOLE_BANNER = "医保政策助手 · 本地控制台（输入问题后回车；输入 /quit 退出）"
CONSOLE_STATE_NOTE = "未设置 BOT_TOKEN：以本地控制台运行，对话状态保存在进程内存中（退出即清空）。"
MEMORY_STATE_WARNING = "未设置 REDIS_URL：对话状态保存在进程内存中，重启后丢失；多个进程之间不共享。"

WELCOME = (
    "您好！我是医保政策助手 🤝\n"
    "可以直接问我医保、生育保险、社保卡的问题，比如异地就医备案、报销比例、生育津贴、"
    "家庭共济、灵活就业缴费、医保卡挂失。说清楚地区（省或城市）和险种（职工/居民），回答更准。\n"
    "回答都注明资料日期；各地规定可能不同，以当地医保部门最新规定为准。\n"
    "试试这些问题："
)
HELP = (
    "直接发送问题即可，例如：山西异地就医怎么备案？\n\n"
    "/region 太原 — 设置您所在的地区（省或城市）\n"
    "/scheme 职工 或 /scheme 居民 — 设置您的医保类型\n"
    "/me — 查看我记住的信息\n"
    "/reset — 清除我记住的信息\n"
    "/subscribe 或 /subscribe 山西 — 订阅政策更新；/unsubscribe 退订；/updates 查看最新更新\n"
    "/ask 问题 — 在群里提问\n\n"
    "找不到答案时，可拨打全国医保服务热线 12393，社保卡业务拨 12333。"
)
START_EXAMPLES = ("yidi.sx-how-to-file", "shengyu.male-worker-ratio", "ka.loss-still-usable")

ASK_USAGE = "请在 /ask 后面写上问题，例如：/ask 山西异地就医怎么备案"
REGION_PROMPT = "请选择您参保的地区，或发送 /region 加城市名（如 /region 太原）："
REGION_SET = "已记住您的地区：{region}。以后的问题按{region}的规定回答（问题里提到别的地区时以问题为准）。"
GROUP_REGION_SET = "已把本群的默认地区设为：{region}。"
GROUP_REGION_ADMIN_ONLY = "只有群管理员可以设置本群的默认地区。"
REGION_UNKNOWN = "没有认出“{text}”这个地区，请换成省名或城市名试试，例如：/region 太原"
REGION_AMBIGUOUS = "“{text}”在多个省都有（{provinces}），请加上省名，例如：/region {example}"
REGION_CLEARED = "已清除您的地区设置。"
SCHEME_PROMPT = "请选择您的医保类型："
SCHEME_SET = "已记住您的医保类型：{scheme}。"
SCHEME_UNKNOWN = "请写“职工”或“居民”，例如：/scheme 职工"
ME = "我记住的信息：\n地区：{region}\n医保类型：{scheme}"
ME_GROUP_REGION = "本群默认地区：{region}"
ME_NOTHING = "未设置"
RESET_DONE = "已清除您的地区、险种和对话记录。"
NOT_ADMIN = "抱歉，这个命令只对管理员开放。"
NON_TEXT_HINT = "我只能看懂文字问题哦。请直接打字提问，例如：社保卡丢了怎么办？"
ONLY_ASKER = "这个选择留给提问的人哦。"
CLARIFY_EXPIRED = "按钮已过期，请重新提问。"
THROTTLED = "您发得太快了，请稍等一会儿再问（{window} 秒内最多 {limit} 条）。"
PERSONAL_DATA_WARNING = (
    "提醒：请不要在聊天里发送身份证号、银行卡号或社保卡号，回答政策问题不需要它们（已自动隐去）。"
)
STATE_UNREADABLE = "（暂时读不到您保存的地区、险种和上一个问题，这次回答没有用上它们。）"
STATE_UNAVAILABLE = "抱歉，设置暂时无法读取或保存，请稍后再试。直接提问照常可以回答。"
INTERNAL_ERROR = "抱歉，处理您的消息时出了点问题，请稍后再试。"
BROADCAST_REDIS_DOWN = "Redis 暂时不可用，现在无法发送广播；恢复后会继续未发完的广播。"
VOTE_THANKS = "感谢反馈！"
OTHER_REGION_NOTHING = (
    "这个问题目前只整理了上面几个地区的规定，您所在地区的做法请咨询当地医保部门或拨打 12393。"
)
BUTTON_UP = "👍 有用"
BUTTON_DOWN = "👎 没用"
STATS = (
    "统计：\n{counters}\n\n最常见的未答问题（按理解到的内容归类）：\n{unanswered}\n\n"
    "反馈（👍/👎）：\n{feedback}"
)
STATS_UNANSWERED = "{count}× {key}\n    例：{example}"
STATS_EMPTY = "（暂无）"
RELOAD_OK = "知识库已重新加载：{entries} 条。"
CONSOLE_LINK = "运营后台登录链接（10 分钟内有效，只能用一次，请勿转发）：\n{link}"
CONSOLE_LINK_PRIVATE = "请在与机器人的私聊中发送 /console：登录链接只发给您本人。"
CONSOLE_WEB = "运营后台：{url}/console/ （在本控制台输入 /console 获取登录链接）"
CONSOLE_WEB_FAILED = "运营后台未能启动（{error}），控制台对话照常可用。"
RELOAD_FAILED = "知识库有错误，仍使用原来的知识库：\n{errors}"
COMMANDS = (
    ("start", "开始使用，看看能问什么"),
    ("help", "使用说明"),
    ("ask", "提问（群里用：/ask 问题）"),
    ("region", "设置所在地区（省或城市）"),
    ("scheme", "设置医保类型：职工或居民"),
    ("me", "查看我记住的信息"),
    ("reset", "清除我记住的信息"),
    ("subscribe", "订阅政策更新（可加地区）"),
    ("unsubscribe", "退订政策更新"),
    ("updates", "查看最新政策更新"),
)
SUBSCRIBED_ALL = "已订阅全部政策更新，有新消息会第一时间发给您。退订请发 /unsubscribe。"
SUBSCRIBED_REGION = "已订阅{region}和全国的政策更新。退订请发 /unsubscribe。"
SUBSCRIBE_GROUP_ADMIN_ONLY = "只有群管理员可以为本群订阅政策更新。"
UNSUBSCRIBED = "已退订全部政策更新。"
NOT_SUBSCRIBED = "您还没有订阅政策更新。发送 /subscribe 或 /subscribe 地区 即可订阅。"
UPDATES_HEADER = "最新政策更新："
UPDATES_NONE = "暂时还没有发布过政策更新。"
UPDATE_LINE = "【{date}｜{where}】{text}"
ME_SUBSCRIPTIONS = "订阅：{subs}"
BROADCAST_USAGE = (
    "用法：/broadcast 通知内容，或 /broadcast 山西 通知内容（只发山西和订阅全部的用户）；"
    "也可以回复一条消息发送 /broadcast。"
)
BROADCAST_PREVIEW = (
    "预览（用户将收到下面这段文字）：\n\n{text}\n\n受众：{audience} 个订阅者（{where}）。10 分钟内确认有效。"
)
BROADCAST_CONFIRM = "✅ 确认发送"
BROADCAST_CANCEL = "取消"
BROADCAST_EXPIRED = "预览已过期或已处理，请重新发送 /broadcast。"
BROADCAST_CANCELLED_PREVIEW = "已取消，本次不发送。"
BROADCAST_NO_AUDIENCE = "没有符合条件的订阅者，未发送。"
BROADCAST_TOO_LONG = "通知太长（{length} 字），请控制在 {limit} 字以内。"
BROADCAST_NEEDS_REDIS = "广播需要 Redis（设置 REDIS_URL）才能可靠发送，当前未启用。"
BROADCAST_PROGRESS = (
    "广播 #{id}（{where}）：{state}\n已发送 {sent}/{total}，屏蔽/失效 {blocked}，失败 {failed}\n"
    "速度 {rate:.1f} 条/秒，预计剩余 {eta}"
)
BROADCAST_STATES = {"pending": "排队中", "running": "发送中", "done": "已完成", "cancelled": "已取消"}
BROADCAST_STATUS_NONE = "还没有广播任务。"
BROADCAST_CANCEL_USAGE = "用法：/broadcast_cancel 任务编号（见 /broadcast_status）"
BROADCAST_CANCEL_DONE = "广播 #{id} 已取消。"
BROADCAST_CANCEL_UNKNOWN = "没有进行中的广播 #{id}。"
SAME_NATIONWIDE = (
    "上面关于“{question}”的说明是全国通用的（资料没有按地区区分），{where}也参照执行；"
    "具体细节以当地医保部门最新规定为准。"
)
