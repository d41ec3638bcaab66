"""Word lists behind name masking in free text (cxloop.auth.redaction): surnames, honorifics, brands.

Written by hand from general knowledge, not taken from another project. The surname lists hold about
three hundred Chinese surnames, in Simplified and Traditional forms; surnames that are above all
everyday function words (和, 都, 那, 但, 来, 干 …) are left out on purpose, since a name starting with
them is rare and a false hit is common.
"""

from __future__ import annotations


def _chars(*rows: str) -> frozenset[str]:
    return frozenset("".join(rows).replace(" ", ""))


def _words(*rows: str) -> frozenset[str]:
    return frozenset(" ".join(rows).split())


#: The most common single-character surnames (most of the population), Simplified and Traditional.
#: The part-of-speech tagger, which has no label to go by, trusts only names starting with these.
COMMON_SURNAMES: frozenset[str] = _chars(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁",
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武",
    "戴莫孔向汤常温康施文樊葛邢安齐乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞柳祝尚阮柯纪梅童毕裴霍涂骆",
    "辛鲍华祁滕牟缪褚娄洪宁翁冉郝靳邵",
    "張劉陳楊黃趙吳孫馬許鄭謝韓馮鄧蕭蔣蘇呂盧鍾鐘譚陸賈韋鄒閻閆賀顧龔萬錢嚴湯溫齊喬龐顏莊聶魯歐關蘭紀畢",
    "駱鮑華繆婁寧",
)

#: Less common surnames that are also the first character of many everyday words (南瓜, 牛肉, 全新,
#: 车厘子, 成正比): a name starting with one is masked only after a label or with a form of address.
OTHER_SURNAMES: frozenset[str] = _chars(
    "左甘包符舒凌单季成苗谷盛曲蓝路游管柴蒙喻蒲房屈饶解艾尤阳时穆农司卓古吉简车项连芦麦窦戚岑景党宫费卜",
    "冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩池查麻苑迟邝封谈匡鞠惠荆",
    "乐冀郁胥南班储栗燕楚鄢劳奚皮粟冼蔺楼盘满闻厉伊区阚花权强屠朴练廉禹井祖漆巴丰支卿狄晋芮殳谌諶邴阙易牛",
    "單藍饒陽時農簡車項連蘆麥竇黨費衛閔鄔邊師欒榮鞏遲鄺談荊樂儲藺樓盤滿聞厲區闞權強練豐晉",
)

#: Every single-character surname cxloop knows.
SURNAMES: frozenset[str] = COMMON_SURNAMES | OTHER_SURNAMES

#: Two-character surnames; a name starting with one of them is 3 or 4 characters long.
COMPOUND_SURNAMES: frozenset[str] = _words(
    "欧阳 歐陽 司马 司馬 诸葛 諸葛 上官 东方 東方 皇甫 尉迟 尉遲 公孙 公孫 慕容 长孙 長孫 令狐 宇文 "
    "夏侯 轩辕 軒轅 独孤 獨孤 端木 南宫 南宮 西门 西門 百里 呼延 司徒 司空 澹台 澹臺 闻人 聞人 申屠 "
    "万俟 萬俟 太史 钟离 鍾離 完颜 完顏 耶律 赫连 赫連",
)

#: Characters that end a name: function words, verbs and nouns that follow a name in a sentence
#: ("收件人李娜电话打不通", "我是张伟订单没到") and almost never stand in a given name, so a name
#: taken after a label stops before them.
NOT_IN_GIVEN_NAME: frozenset[str] = _chars(
    "的了着过在是和跟与及或给把被让叫说讲问答打找要想能会已还也都就又再才只很太真挺特更最不没别这那哪谁",
    "什么呢吗吧啊呀哦嘛哈啦嘞咯呗哇你我他她它们您咱个些里外上下前后内左右电话手机号码单件货收寄送发买卖退换",
    "订付钱块到去从向对用做看听吃喝拿取等请帮替因所以而但却并先女师傅经理总员店快递慢差坏烂破咸淡辣酸苦凉",
    "冷热烫便错多全部次点每各半整几两十百千氏某姓焖炒炖煮烤蒸炸煎卤拌屏键漏洒沾变式界味格丝卡虫饼粉肉菜瓜面酒汁渣",
    "壳盒袋箱装瓶罐粒斤",
    # Traditional forms
    "們這麼嗎說講問給讓會還過與個裡裏後電話號碼單貨買賣換訂錢塊從對聽請幫經總員遞壞爛鹹熱燙錯點兩",
)

#: Second characters that make "surname + one character" a place, shop or kinship word rather than
#: a two-character name: 马家 (the Ma family's shop), 张记, 王府, 李村, 刘哥 (an honorific, masked by
#: its own rule).
NOT_A_SHORT_GIVEN_NAME: frozenset[str] = _chars(
    "家记記府村庄莊屯寨铺鋪园園楼樓哥姐叔姨婆爷爺妈媽爸嫂总總工老"
)

#: What follows a surname as a form of address: 陈先生, 李女士, 刘师傅, 王总 …
HONORIFICS: tuple[str, ...] = tuple(
    sorted(
        _words(
            "先生 女士 小姐 太太 夫人 师傅 師傅 师父 師父 老师 老師 经理 經理 主管 主任 医生 醫生 大夫 护士 護士 律师 律師 "
            "教授 阿姨 叔叔 大爷 大爺 大妈 大媽 大姐 大哥 老板 老闆 同学 同學 总 總 总经理 總經理 哥 姐"
        ),
        key=len,
        reverse=True,
    )
)

#: Brands, shops, platforms, carriers and products whose names start like a person's: the part-of-
#: speech tagger reads several of them as names (华为 and 潘婷 are tagged ``nr``). Never masked.
NOT_NAMES: frozenset[str] = _words(
    # phones, electronics and appliances
    "华为 華為 荣耀 榮耀 小米 红米 紅米 米家 魅族 金立 中兴 中興 联想 聯想 华硕 華碩 宏碁 戴尔 戴爾 惠普 索尼 "
    "佳能 尼康 海尔 海爾 美的 格力 九阳 九陽 苏泊尔 蘇泊爾 方太 老板电器 万和 萬和 安卓 苹果 蘋果 三星 漫步者 "
    "小度 小爱 小愛 小熊 小天才 步步高 欧普 歐普 雷蛇 "
    # shops, platforms and payment
    "京东 京東 天猫 天貓 淘宝 淘寶 拼多多 美团 美團 饿了么 餓了麼 苏宁 蘇寧 苏宁易购 唯品会 唯品會 当当 當當 "
    "亚马逊 亞馬遜 闲鱼 閒魚 抖音 快手 小红书 小紅書 微信 支付宝 支付寶 花呗 花唄 白条 白條 菜鸟 菜鳥 "
    "屈臣氏 万达 萬達 盒马 盒馬 叮咚 朴朴 "
    # carriers
    "顺丰 順豐 中通 圆通 圓通 申通 韵达 韻達 百世 德邦 极兔 極兔 邮政 郵政 宅急送 京东物流 安能 "
    # food and drink
    "王老吉 加多宝 加多寶 康师傅 康師傅 统一 統一 蒙牛 伊利 光明 三只松鼠 良品铺子 百草味 周黑鸭 周黑鴨 "
    "绝味 絕味 华莱士 華萊士 德克士 肯德基 麦当劳 麥當勞 必胜客 必勝客 星巴克 瑞幸 喜茶 奈雪 蜜雪冰城 "
    "海底捞 海底撈 沙县 沙縣 杨国福 楊國福 张亮 張亮 老乡鸡 老鄉雞 真功夫 黄太吉 江小白 茅台 五粮液 "
    "汤达人 湯達人 白象 今麦郎 今麥郎 卫龙 衛龍 "
    # clothes, shoes and beauty
    "李宁 李寧 安踏 特步 鸿星尔克 鴻星爾克 匹克 森马 森馬 太平鸟 太平鳥 海澜之家 海瀾之家 "
    "潘婷 海飞丝 海飛絲 飘柔 飄柔 沙宣 欧莱雅 歐萊雅 施华蔻 施華蔻 兰蔻 蘭蔻 雅诗兰黛 雅詩蘭黛 百雀羚 "
    # everyday words of the form 小/老 + surname that are not anyone's name
    "小于 小时 小時 小米 小麦 小麥 小龙 小龍 小康 小农 小農 小包 小叶 小葉 小孔 小房 小曲 小毛 小牛 小石 "
    "小程 小童 小苏 小蘇 小解 小许 小許 小费 小費 小路 小车 小車 小钱 小錢 小马 小馬 小金 小项 小項 小白 "
    "小黄 小黃 小蓝 小藍 小红 小紅 小方 小边 小邊 小苗 小汤 小湯 小区 小區 小姐 小师 小师妹 小谷 "
    "老师 老師 老农 老農 老包 老成 老房 老路 老牛 老汤 老湯 老毛 老边 老邊 老马 老馬 老景 老公 老家 老乡 "
    "老板 老闆 老子 老年 老人 老干妈 老乾媽 老白干 老字号 老字號 老顾客 老顧客 老司机 老司機 老铁 老鐵 "
    # honorifics and kin words that start with a surname character
    "帅哥 師兄 师兄 师姐 師姐 师傅 師傅 师父 師父 师母 師母 "
    # common words jieba's dictionary tags as a name
    "谢谢 謝謝 顾客 顧客 段时间 段時間 麦克风 麥克風 高清 齐全 齊全 安静 安靜 温馨 溫馨 阳光 陽光 "
    "文明 白白 毛巾 叶子 葉子 胡萝卜 胡蘿蔔 米粉 马虎 馬虎 马马虎虎 馬馬虎虎 白痴 华丽 華麗 钟爱 鍾愛 "
    "甘甜 马甲 馬甲 毛毛 毛糙 汤汁 湯汁 牛仔 黄焖 黃燜 白水 米老鼠 蓝屏 藍屏 白屏 高二 高三 高一 "
    "高中生 白领 白領 段子 宫保鸡 宮保雞 关东煮 關東煮 白平衡 江浙沪 江浙滬 老练 老練 毛毛虫 毛毛蟲 黄桃 黃桃 "
    "马赛克 馬賽克 朱古力 安兔兔 高亮 高亮度 高清晰 康复科 康復科 余温 餘溫 金龟婿 金龜婿",
)
