"""Text pieces the demo generator combines into reviews, chats, tickets, calls, posts and comments.

Every aspect snippet uses the words the default taxonomy recognises for that aspect (see the aspect list
in docs/demo.md), and avoids the words of other aspects, so the planted problems show up in the aspect
Pareto. Slots: ``{p}`` product word, ``{d}`` days, ``{h}`` hours, ``{m}`` minutes, ``{carrier}`` carrier
short name, ``{order}`` order id.
"""

from __future__ import annotations

from typing import Final

# --- aspect snippets, Simplified Chinese -------------------------------------------------------------

NEG: Final[dict[str, tuple[str, ...]]] = {
    "product_quality": (
        "质量一般，跟价格不太匹配",
        "做工有点粗糙，线头好多",
        "{p}质量不行，用了没几次就坏了",
        "感觉是次品，边角都没处理好",
        "质量真的很差",
        "做工太粗糙了，{p}边上还有毛刺",
        "{p}用了一周就坏了",
        "质量堪忧，不敢再买了",
        "这做工对不起这个价",
        "收到就有瑕疵，质量把关不严",
        "质量比上次买的差多了",
        "{p}有股怪味，做工也一般",
    ),
    "description_match": (
        "实物与描述不符",
        "色差太大了，和图片完全两个颜色",
        "尺码不对，平时穿M这个M小了一圈",
        "跟详情页写的不一样，与描述不符",
        "有色差，实物暗很多",
        "{p}比图片上小好多，与描述不符",
        "规格和页面写的对不上，与描述不符",
        "尺码偏小，建议大一码，尺码不对真的烦",
    ),
    "price_value": (
        "价格有点贵",
        "性价比不高，超市买更便宜",
        "刚买完就降价了，优惠也没给我补",
        "说好的优惠券结账时用不了",
        "这个价格买到这个东西，性价比太低",
        "价格比别家贵了十几块",
        "活动优惠力度太小",
    ),
    "dispatch_speed": (
        "发货太慢了",
        "下单{d}天了还没发货",
        "迟迟不发货，也没人说明原因",
        "下单{d}天才发货，急用的东西全耽误了",
        "{d}天了都不发货，还以为缺货了",
        "说好48小时内发货，结果拖了{d}天",
        "发货慢得离谱",
        "一直显示待发货，发货也太慢了",
        "别家都发了，你家还没发货",
        "仓库发货太慢，下单好久才发出来",
        "隔了{d}天才发货，差点就取消订单了",
        "催了好几次才发货",
    ),
    "delivery_speed": (
        "物流太慢了",
        "快递太慢，路上走了{d}天",
        "物流慢得要命，一直在中转",
        "配送慢，比承诺的晚了{d}天",
        "快递太慢了，{carrier}这次真让人失望",
        "物流信息好几天不更新，太慢了",
        "配送太慢，说好次日达结果第{d}天才到",
        "物流慢，在同一个站点停了两天",
        "快递太慢了，催都没用",
        "物流速度太慢，等得花都谢了",
    ),
    "packaging": (
        "包装太简陋了，就一个塑料袋",
        "包装很随意，送人都拿不出手",
        "外包装脏兮兮的",
        "包装太敷衍，连个气泡膜都没有",
        "包装盒皱巴巴的",
        "包装不严实，封口都开了",
    ),
    "damage_loss": (
        "收到的时候箱子都压坏了",
        "外箱破损得厉害，{p}只能将就用",
        "到手就破损了",
        "漏液了，整个箱子湿透",
        "瓶子碎了，撒得到处都是",
        "显示签收了但家里根本没有，丢件了",
        "{p}被压坏了",
        "里面碎了一个，心疼",
        "{p}漏液，弄脏了其他东西",
        "说是丢件了，白高兴一场",
    ),
    "wrong_missing_item": (
        "少发了一件",
        "发错颜色了，我要的不是这个",
        "漏发了赠品",
        "买了两个只收到一个，少发",
        "发错货了，收到的是别的型号",
        "订单里的{p}漏发了",
    ),
    "courier_service": (
        "快递员态度很差，电话里很不耐烦",
        "不送货上门，直接扔驿站也不打招呼",
        "快递员没打电话就说送过了",
        "快递员态度恶劣，让我自己下楼拿",
        "快递员不送货上门，还要我跑去站点",
        "快递员乱签收，东西放门口差点丢了",
    ),
    "cs_attitude": (
        "客服态度很差，说话很冲",
        "客服态度敷衍，只会复制粘贴",
        "客服态度不好，问两句就不耐烦",
        "客服态度冷冰冰的，一点也不帮忙解决",
    ),
    "cs_response": (
        "客服回复慢，{m}分钟才有人回",
        "找客服半天没人理",
        "客服回复太慢了",
        "在线客服没人理，发了好几条都没回",
        "客服回复慢得离谱，半小时才回复一句",
        "晚上找客服根本没人理",
    ),
    "returns_refunds": (
        "退款到现在还没到账",
        "申请退货好几天了没人处理",
        "换货流程太麻烦了",
        "退款拖了{d}天",
        "退货还要我自己出运费",
        "退款一直在审核中，太慢了",
    ),
    "app_usability": (
        "APP闪退好几次",
        "页面卡得要命",
        "搜索不好用，搜{p}出来一堆不相关的",
        "下单页面卡住了，刷新好几遍",
        "更新之后APP闪退",
        "页面加载太慢，一直转圈",
        "搜索结果乱七八糟",
    ),
    "payment": (
        "支付失败了好几次",
        "付款的时候一直提示支付失败",
        "付款页面打不开",
        "用微信付款扣了钱订单还显示未付款",
        "支付失败但钱被扣了",
    ),
    "taste": (
        "味道一般，没有想象中好吃",
        "口感偏硬",
        "味道太咸了",
        "口感不好，有点受潮",
        "{p}味道怪怪的",
        "甜得发腻，口感一般",
    ),
    "freshness": (
        "{p}不新鲜，有好几个烂了",
        "收到就变质了",
        "日期快过期了，临期货吧",
        "不太新鲜，蔫蔫的",
        "{p}有点变质的味道",
        "已经过期了还发给我",
    ),
}

POS: Final[dict[str, tuple[str, ...]]] = {
    "product_quality": (
        "质量很好",
        "做工精细，{p}很结实",
        "质量不错，比想象的好",
        "质量杠杠的",
        "做工很扎实，用着放心",
        "{p}质量没得说",
        "质量很好，已经回购好几次了",
        "品质不错，做工细致",
    ),
    "description_match": (
        "跟描述的一样",
        "实物和图片一致，没有色差",
        "尺码合适，按平时的码买的刚好",
        "与描述一致，很满意",
        "和图片一样，跟描述的一致",
    ),
    "price_value": (
        "性价比很高",
        "价格实惠",
        "赶上优惠很划算",
        "这个价格很值",
        "性价比超高，囤了好几份",
        "比超市便宜，价格很良心",
    ),
    "dispatch_speed": (
        "发货很快",
        "当天就发货了",
        "下单没多久就发货了",
        "发货速度很快",
        "晚上下单第二天一早就发货了",
    ),
    "delivery_speed": (
        "物流很快",
        "快递很快，第二天就到了",
        "物流超快，隔天就收到",
        "配送很快",
        "{carrier}的快递很给力，一天就到",
        "物流速度没得说",
        "物流快，比预计早到了",
    ),
    "packaging": (
        "包装很用心",
        "包装严实，里三层外三层",
        "包装精美，送人很合适",
        "包装很好，还有气泡膜",
        "包装干净整齐",
    ),
    "damage_loss": (
        "包装完好，东西都好好的",
        "完好无损，一点没磕着",
    ),
    "courier_service": (
        "快递员态度很好，送货上门",
        "快递小哥服务好，还帮忙搬上楼",
        "快递员很负责，提前打了电话",
    ),
    "cs_attitude": (
        "客服态度很好，很耐心",
        "客服态度超好，解答得很详细",
        "客服小姐姐态度特别好",
        "客服态度好，问题很快就解决了",
    ),
    "cs_response": (
        "客服回复很快",
        "客服秒回",
        "客服回复及时，很专业",
    ),
    "returns_refunds": (
        "退款很快",
        "退货很方便，上门取件",
        "换货很顺利",
        "退款当天就到账了",
    ),
    "app_usability": (
        "APP很好用",
        "页面很流畅",
        "搜索很方便，一下就找到了",
    ),
    "payment": (
        "付款很方便",
        "付款很顺畅",
    ),
    "taste": (
        "味道很好",
        "口感很好，{p}很香",
        "味道正宗，家里人都爱吃",
        "口感不错，不会太甜",
        "味道好极了",
        "{p}口感酥脆，好吃",
    ),
    "freshness": (
        "很新鲜",
        "{p}特别新鲜，个头也大",
        "新鲜度很好，冰袋都还没化",
        "日期很新鲜",
    ),
}

#: Product-specific breakage for the defective supplier's products (quality aspect).
DEFECT: Final = (
    "{p}用了两天就坏了，什么质量",
    "{p}收到第三天就坏了，质量太差",
    "质量差，{p}充不进电",
    "{p}一边没声音，应该是次品",
    "用了没几次就坏了，质量太差",
    "质量太差了，{p}开机没几次就不行了",
    "{p}坏了，这是我买过最差的质量",
    "做工差，{p}接触不良，时好时坏",
    "第二次买了，这批{p}质量明显不如以前，用两天就坏了",
    "质量差得离谱，{p}发烫还断断续续",
)

# --- English snippets ---------------------------------------------------------------------------------

EN_NEG: Final[dict[str, tuple[str, ...]]] = {
    "product_quality": (
        "poor quality, it broke after a few days",
        "the quality is bad",
        "feels cheap, bad quality",
    ),
    "description_match": ("not as described", "colour is different from the picture", "the size is wrong"),
    "price_value": ("too expensive for what it is", "poor value for money"),
    "dispatch_speed": (
        "shipping was so slow, it took {d} days to ship",
        "the order was not shipped for days",
    ),
    "delivery_speed": ("delivery was slow", "the courier took {d} days to deliver, way too slow"),
    "packaging": ("the packaging was flimsy", "poor packaging"),
    "damage_loss": ("the parcel arrived damaged", "the bottle leaked everywhere", "package was lost"),
    "wrong_missing_item": ("an item was missing", "they sent the wrong item"),
    "courier_service": ("the courier was rude", "the courier did not deliver to my door"),
    "cs_attitude": ("customer service was rude",),
    "cs_response": ("customer service took forever to reply", "nobody answered my chat"),
    "returns_refunds": ("still waiting for my refund", "the return process is a pain"),
    "app_usability": ("the app keeps crashing", "search is useless"),
    "payment": ("payment failed several times",),
    "taste": ("the taste is bland", "tastes weird"),
    "freshness": ("not fresh at all", "it was already spoiled"),
}

EN_POS: Final[dict[str, tuple[str, ...]]] = {
    "product_quality": ("great quality", "very well made"),
    "description_match": ("exactly as described",),
    "price_value": ("good value for money", "great price"),
    "dispatch_speed": ("shipped the same day",),
    "delivery_speed": ("fast delivery", "arrived the next day, super fast delivery"),
    "packaging": ("nice packaging", "well packed"),
    "courier_service": ("the courier was friendly",),
    "cs_attitude": ("customer service was very friendly",),
    "cs_response": ("customer service replied quickly",),
    "returns_refunds": ("the refund was quick",),
    "app_usability": ("the app is easy to use",),
    "payment": ("payment was easy",),
    "taste": ("tastes great", "delicious"),
    "freshness": ("very fresh",),
}

EN_OPENINGS: Final = ("", "", "Bought this for my family. ", "Second order here. ", "Got it today. ")
#: English customer messages in chats and tickets, by scenario.
EN_CHAT: Final[dict[str, tuple[str, ...]]] = {
    "dispatch": ("Hi, I paid {d} days ago and the order has not shipped yet. When will it ship?",),
    "where": ("Where is my parcel? The delivery is slow and already late.",),
    "damaged": ("The parcel arrived damaged. What can you do?", "The bottle leaked inside the box."),
    "lost": ("The tracking says delivered but I never got it. Was the package lost?",),
    "defect": ("It stopped working after two days, the quality is bad. Can I get a replacement?",),
    "refund": ("When will I get my refund?", "How do I return this item?"),
    "courier": ("The courier did not deliver to my door and was rude.",),
    "wrong": ("An item is missing from my order.", "You sent the wrong item."),
    "presale": ("Is this in stock?", "Can I use a coupon with this offer?"),
    "payment": ("Payment failed but the money was taken.",),
}
EN_WAITING: Final = ("Hello? Nobody has answered for {m} minutes.", "Customer service is so slow to reply.")
EN_CLOSINGS: Final = ("", "", " Would buy again.", " Not happy.", " Overall OK.", " Recommended!")

# --- glue ---------------------------------------------------------------------------------------------

OPENINGS: Final = (
    "",
    "",
    "",
    "",
    "收到了，",
    "第二次买了，",
    "帮朋友买的，",
    "回购了，",
    "给家里人买的，",
    "618囤的货，",
    "用了一段时间来评价，",
    "买了{p}，",
    "犹豫了很久才下单，",
    "看了很多评论才买的，",
)
BUT: Final = ("但是", "不过", "就是", "可惜", "唯一不满意的是", "美中不足的是", "只是", "但")
ALSO: Final = ("，", "，", "，而且", "，", "，还有", "。", "，")
CLOSINGS_POS: Final = (
    "",
    "",
    "",
    "，好评",
    "，下次还会再来",
    "，推荐购买",
    "，会回购的",
    "，满意",
    "，五星好评",
    "，给个赞",
    "，值得推荐",
)
CLOSINGS_NEG: Final = (
    "",
    "",
    "",
    "，差评",
    "，不会再买了",
    "，太失望了",
    "，希望改进",
    "，体验很差",
    "，无语",
    "，真的生气",
)
CLOSINGS_MIXED: Final = ("", "", "，总体还行", "，凑合吧", "，希望下次注意", "，其他都还好", "，给三星吧")
PARTICLES: Final = ("", "", "", "", "啊", "呀", "哈", "啦", "吧", "哦", "呢", "嘛")
EMOJI_POS: Final = ("👍", "😊", "❤️", "[赞]", "[爱心]", "🥰", "👏", "[耶]")
EMOJI_NEG: Final = ("😡", "😤", "🙄", "😭", "[怒]", "[流泪]", "💢", "😓")
#: Everyday typos and web slang, applied to filler words only so aspect keywords stay intact.
TYPOS: Final = (
    ("觉得", "觉的"),
    ("已经", "以经"),
    ("非常", "灰常"),
    ("什么", "神马"),
    ("东西", "东东"),
    ("一下", "一哈"),
    ("这样", "酱紫"),
    ("好评", "好评好评"),
)
NEUTRAL_REVIEWS: Final = (
    "还行吧",
    "一般般",
    "中规中矩",
    "还没用，用了再来追评",
    "默认好评",
    "东西收到了",
    "和之前买的差不多",
    "家里人在用，说还可以",
    "嗯，就那样",
)
FOLLOW_UPS: Final = ("追评：", "【追评】", "用了半个月追加评价：")

# --- chats, tickets, calls ----------------------------------------------------------------------------

CHAT: Final[dict[str, tuple[str, ...]]] = {
    "dispatch": (
        "你好，订单{order}下单{d}天了怎么还没发货？",
        "在吗？我的订单一直显示待发货，什么时候发货啊",
        "能不能快点发货，急用",
        "都{d}天了还没发货，是不是缺货了？",
        "为什么迟迟不发货？不发就给我退款",
        "我朋友后下单的都收到了，我的还没发货",
        "请问订单{order}今天能发货吗？",
    ),
    "where": (
        "我的快递到哪了？物流好几天没更新了",
        "物流太慢了，能帮我催一下吗",
        "订单{order}的快递怎么还没到，都超过承诺时间了",
        "物流一直停在中转站，什么情况",
        "说好的次日达呢？快递太慢了",
    ),
    "damaged": (
        "收到的{p}包装破损了，怎么处理？",
        "你好，包裹破损了，我拍了照片",
        "东西漏液了，箱子都湿了，要求退款",
        "收到的时候外箱就破损了，能退款吗",
    ),
    "lost": (
        "显示签收了但家里没有，是不是丢件了？",
        "订单{order}的包裹丢件了吧，好几天没动静",
        "快递说包裹丢了，你们怎么处理？",
    ),
    "defect": (
        "{p}用了两天就坏了，能换货吗？",
        "你好，收到的{p}质量有问题，开不了机",
        "{p}坏了，申请退货退款",
        "这个{p}是次品吧，一直接触不良",
    ),
    "refund": (
        "退款申请提交好几天了，什么时候到账？",
        "我要退货，怎么操作？",
        "退款怎么还没到？",
        "能不能换货？尺码不对",
    ),
    "courier": (
        "快递员不送货上门，直接放驿站了，能投诉吗？",
        "快递员态度很差，挂我电话",
        "快递员说送不了，让我自己去拿，这合理吗？",
    ),
    "wrong": (
        "你好，我少了一件{p}，少发了",
        "发错货了，我买的不是这个颜色",
        "订单{order}漏发了一件，麻烦补发",
    ),
    "presale": (
        "{p}还有货吗？",
        "请问{p}今天下单什么时候能到？",
        "这个{p}有优惠吗？",
        "{p}和另一款有什么区别？",
        "能开发票吗？",
        "请问{p}保质期多久？",
        "满减活动还能叠加优惠券吗？",
        "可以改收货地址吗？",
        "我想改一下收货电话",
    ),
    "payment": (
        "付款一直提示支付失败怎么办？",
        "钱扣了但是订单显示未付款",
        "付款页面打不开",
    ),
}
#: What a customer adds when nobody has answered for a while.
CHAT_WAITING: Final = (
    "在吗？？怎么没人回",
    "有人吗？都{m}分钟了还没人回",
    "客服回复太慢了吧",
    "人呢？怎么没人理",
    "客服回复慢得要命，到底有没有人",
    "半天没人理，什么服务",
    "hello？？？一直没人回",
)
CHAT_THANKS: Final = ("好的谢谢", "好的，麻烦了", "行吧", "谢谢客服，态度很好", "嗯嗯", "OK", "知道了")

TICKET_TITLES: Final[dict[str, tuple[str, ...]]] = {
    "damaged": ("包裹破损", "商品压坏申请退款", "收到商品漏液"),
    "lost": ("包裹丢件", "显示签收未收到"),
    "defect": ("商品质量问题", "申请退换货：质量问题", "商品坏了"),
    "refund": ("退款进度咨询", "申请退货", "换货申请"),
    "dispatch": ("催发货", "订单迟迟不发货"),
    "where": ("物流延误", "配送超时"),
    "wrong": ("少发漏发", "发错商品"),
    "courier": ("投诉快递员", "快递员未送货上门"),
}

CALL_NOTES: Final[dict[str, tuple[str, ...]]] = {
    "dispatch": (
        "客户来电催发货，订单{order}下单{d}天仍未发货，客户情绪激动，已加急并承诺今日发出。",
        "客户来电询问为何迟迟不发货，已致歉并登记催单。",
    ),
    "where": (
        "客户来电反映物流太慢，已超承诺时效，已联系{carrier}催派。",
        "客户来电投诉配送慢，已查询轨迹并承诺明日前反馈。",
    ),
    "damaged": (
        "客户来电反映包裹破损，已登记并安排补发。",
        "客户来电称商品漏液，已安排退款并向{carrier}索赔。",
    ),
    "lost": ("客户来电反映包裹丢件，已核实物流并安排重新发货。",),
    "defect": (
        "客户来电反映{p}用了两天就坏了，质量问题，已安排换货。",
        "客户来电投诉{p}质量差，要求退货退款，已同意并登记问题批次。",
    ),
    "refund": ("客户来电询问退款进度，已告知三个工作日内到账。",),
    "courier": ("客户来电投诉快递员态度差、不送货上门，已反馈{carrier}。",),
    "wrong": ("客户来电反映少发一件{p}，已安排补发。",),
}

APP_FEEDBACK: Final = (
    ("app_usability", "negative", "APP闪退，打开购物车就退出"),
    ("app_usability", "negative", "页面卡，滑动商品列表很不流畅"),
    ("app_usability", "negative", "搜索功能太差了，搜不到想要的东西"),
    ("app_usability", "negative", "新版本页面卡顿，加载很慢"),
    ("app_usability", "negative", "优惠券页面卡死了"),
    ("app_usability", "positive", "新版APP好用多了，搜索很准"),
    ("app_usability", "positive", "页面设计清爽，找东西很方便"),
    ("payment", "negative", "支付失败，提示网络异常"),
    ("payment", "negative", "付款时一直转圈，最后支付失败"),
    ("payment", "negative", "绑定银行卡付款总是失败"),
    ("payment", "positive", "付款很顺畅，指纹支付方便"),
    ("price_value", "negative", "希望多发点优惠券，价格比别家贵"),
    ("cs_response", "negative", "在线客服入口太难找了，找到了也没人理"),
)

SOCIAL_OWN: Final = (
    ("delivery_speed", "positive", "#优选生活# 昨晚下单今天就到了，物流很快，点赞👍"),
    ("product_quality", "positive", "安利一下优选生活的{p}，质量很好，回购第三次了"),
    ("price_value", "positive", "优选生活大促价格真香，性价比绝了"),
    ("delivery_speed", "negative", "优选生活这次物流慢得离谱，等了{d}天"),
    ("product_quality", "negative", "吐槽一下优选生活的{p}，质量太差，用两天就坏了"),
    ("cs_attitude", "negative", "优选生活客服态度真的差，问个问题爱答不理"),
    ("packaging", "positive", "优选生活的包装好用心，开箱很惊喜"),
    ("dispatch_speed", "negative", "优选生活下单{d}天还没发货，有人一样吗？"),
    ("damage_loss", "negative", "优选生活寄来的{p}外箱破损，心疼"),
)
SOCIAL_COMP: Final = (
    ("delivery_speed", "positive", "{brand}的物流是真快，上午下单下午到"),
    ("price_value", "negative", "{brand}价格越来越贵了，性价比不如以前"),
    ("product_quality", "negative", "{brand}的{p}质量一般，做工粗糙"),
    ("product_quality", "positive", "{brand}家的{p}质量还可以"),
    ("cs_attitude", "positive", "{brand}客服态度挺好的"),
    ("packaging", "negative", "{brand}包装太简陋了"),
)

#: Snippets that say more than their table's aspect: the other complaints their words carry, which the
#: truth counts like the snippet's own ("not worth the price" is a price complaint as well).
ALSO_PLANTS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "质量一般，跟价格不太匹配": (("price_value", "negative"),),
    "能不能换货？尺码不对": (("description_match", "negative"),),
    "付款页面打不开": (("app_usability", "negative"),),
}
#: Chat lines that only ask (no complaint word): the scenario's aspect is not a complaint in them.
ENQUIRIES: Final = frozenset({"请问订单{order}今天能发货吗？"})

#: Survey open comments by mood.
SURVEY_POS: Final = (
    "整体购物体验很好",
    "很满意，下次还来",
    "物流很快，质量也好",
    "客服态度很好",
    "没什么意见，挺好的",
    "包装很用心，好评",
)
SURVEY_NEG_EXTRA: Final = ("希望改进", "体验一般", "有待提高", "不太满意")
