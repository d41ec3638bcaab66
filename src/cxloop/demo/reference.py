"""Master data of the demo shop: regions, warehouses, carriers, suppliers, products and names.

Everything here is invented for the demo; the numbers (prices, weights, shares) are chosen to look like
a mid-sized Chinese online shop, not taken from any real company.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any, Final, NamedTuple

import yaml


class Warehouse(NamedTuple):
    """A warehouse of the demo shop."""

    id: str
    name: str
    region: str
    city: str


class Carrier(NamedTuple):
    """A carrier with its share of parcels and how fast it is against the average (1.0)."""

    id: str
    name: str
    short: str
    share: float
    speed: float


class Province(NamedTuple):
    """A province: its cities, the warehouse that serves it, distance tier (1..3) and order weight."""

    name: str
    cities: tuple[str, ...]
    warehouse: str
    tier: int
    weight: float


class ProductSpec(NamedTuple):
    """A product line in the catalogue: full name, short word used in texts, price, weight, liquid."""

    name: str
    short: str
    price: float
    weight_kg: float
    liquid: bool


WAREHOUSES: Final = (
    Warehouse("WH-SH", "华东仓（上海）", "华东", "上海"),
    Warehouse("WH-GZ", "华南仓（广州）", "华南", "广州"),
    Warehouse("WH-BJ", "华北仓（北京）", "华北", "北京"),
    Warehouse("WH-CD", "西南仓（成都）", "西南", "成都"),
)

CARRIERS: Final = (
    Carrier("CR-SD", "顺达快递", "顺达", 0.30, 0.85),
    Carrier("CR-YT", "远通速运", "远通", 0.27, 1.0),
    Carrier("CR-ZJ", "中捷快运", "中捷", 0.25, 1.05),
    Carrier("CR-JY", "佳运物流", "佳运", 0.18, 1.08),
)

PROVINCES: Final = (
    Province("上海", ("上海",), "WH-SH", 1, 6.0),
    Province("江苏", ("南京", "苏州", "无锡", "常州", "南通"), "WH-SH", 1, 8.0),
    Province("浙江", ("杭州", "宁波", "温州", "绍兴", "嘉兴"), "WH-SH", 1, 8.0),
    Province("安徽", ("合肥", "芜湖", "蚌埠"), "WH-SH", 2, 3.0),
    Province("山东", ("济南", "青岛", "烟台", "潍坊"), "WH-SH", 2, 5.0),
    Province("江西", ("南昌", "赣州", "九江"), "WH-SH", 2, 2.0),
    Province("福建", ("福州", "厦门", "泉州"), "WH-SH", 2, 3.5),
    Province("湖北", ("武汉", "宜昌", "襄阳"), "WH-SH", 2, 3.5),
    Province("广东", ("广州", "深圳", "东莞", "佛山", "珠海"), "WH-GZ", 1, 11.0),
    Province("广西", ("南宁", "桂林", "柳州"), "WH-GZ", 2, 2.5),
    Province("海南", ("海口", "三亚"), "WH-GZ", 2, 1.0),
    Province("湖南", ("长沙", "株洲", "岳阳"), "WH-GZ", 2, 3.0),
    Province("北京", ("北京",), "WH-BJ", 1, 6.0),
    Province("天津", ("天津",), "WH-BJ", 1, 2.5),
    Province("河北", ("石家庄", "保定", "唐山", "廊坊"), "WH-BJ", 1, 3.5),
    Province("山西", ("太原", "大同"), "WH-BJ", 2, 1.5),
    Province("河南", ("郑州", "洛阳", "开封"), "WH-BJ", 2, 4.0),
    Province("辽宁", ("沈阳", "大连"), "WH-BJ", 2, 2.5),
    Province("吉林", ("长春", "吉林"), "WH-BJ", 2, 1.2),
    Province("黑龙江", ("哈尔滨", "大庆"), "WH-BJ", 3, 1.3),
    Province("内蒙古", ("呼和浩特", "包头"), "WH-BJ", 3, 0.8),
    Province("四川", ("成都", "绵阳", "德阳", "宜宾"), "WH-CD", 1, 4.5),
    Province("重庆", ("重庆",), "WH-CD", 1, 2.5),
    Province("云南", ("昆明", "大理"), "WH-CD", 2, 1.5),
    Province("贵州", ("贵阳", "遵义"), "WH-CD", 2, 1.2),
    Province("陕西", ("西安", "宝鸡"), "WH-CD", 2, 2.0),
    Province("甘肃", ("兰州",), "WH-CD", 3, 0.6),
    Province("宁夏", ("银川",), "WH-CD", 3, 0.3),
    Province("青海", ("西宁",), "WH-CD", 3, 0.2),
    Province("新疆", ("乌鲁木齐",), "WH-CD", 3, 0.6),
)

OWN_BRAND: Final = ("OWN", "优选生活")
COMPETITORS: Final = (("COMP-A", "悦享家"), ("COMP-B", "品乐购"))

#: Supplier id -> name, and which categories it supplies (first match wins for a product).
SUPPLIERS: Final = (
    ("SUP01", "杭州禾丰食品有限公司", ("食品",)),
    ("SUP02", "山东绿源农产品合作社", ("生鲜",)),
    ("SUP03", "广州美研化妆品有限公司", ("美妆",)),
    ("SUP04", "上海洁然日化有限公司", ("个护",)),
    ("SUP05", "深圳锐创电子科技有限公司", ("数码",)),
    ("SUP06", "宁波家悦家居用品有限公司", ("家居", "宠物")),
    ("SUP07", "泉州织尚服饰有限公司", ("服饰", "运动")),
    ("SUP08", "苏州贝亲母婴用品有限公司", ("母婴",)),
)

#: The supplier whose products turn defective, and the products (by short word) that do.
DEFECT_SUPPLIER: Final = "SUP05"
DEFECT_SHORTS: Final = ("蓝牙耳机", "充电宝", "手环")

CATALOGUE: Final[dict[str, tuple[ProductSpec, ...]]] = {
    "食品": (
        ProductSpec("每日坚果混合装 750g（30袋）", "坚果", 89.0, 0.85, False),
        ProductSpec("手剥山核桃 500g", "山核桃", 69.9, 0.55, False),
        ProductSpec("低糖全麦吐司 1kg", "吐司", 29.9, 1.05, False),
        ProductSpec("云南小粒咖啡豆 500g", "咖啡豆", 79.0, 0.55, False),
        ProductSpec("西湖龙井明前茶 250g", "龙井", 168.0, 0.35, False),
        ProductSpec("手工麻辣牛肉干 200g", "牛肉干", 45.8, 0.25, False),
        ProductSpec("五常大米 5kg", "大米", 69.0, 5.1, False),
        ProductSpec("冷榨山茶油 1L", "山茶油", 128.0, 1.1, True),
        ProductSpec("零添加酱油 500ml", "酱油", 19.9, 0.6, True),
        ProductSpec("蜂蜜柚子茶 1kg", "柚子茶", 39.9, 1.2, True),
        ProductSpec("黑芝麻核桃粉 600g", "芝麻糊", 35.9, 0.7, False),
        ProductSpec("广式月饼礼盒 8枚装", "月饼", 138.0, 1.2, False),
        ProductSpec("燕麦片 1.5kg", "燕麦片", 32.8, 1.6, False),
        ProductSpec("螺蛳粉 5袋装", "螺蛳粉", 49.9, 1.6, False),
        ProductSpec("冻干水果脆片 6袋", "水果干", 39.0, 0.3, False),
    ),
    "生鲜": (
        ProductSpec("烟台红富士苹果 5斤装", "苹果", 39.9, 2.8, False),
        ProductSpec("海南金煌芒 5斤装", "芒果", 49.9, 2.8, False),
        ProductSpec("赣南脐橙 10斤装", "脐橙", 59.9, 5.5, False),
        ProductSpec("阳光玫瑰葡萄 2斤", "葡萄", 69.0, 1.3, False),
        ProductSpec("智利车厘子 JJ级 2斤", "车厘子", 129.0, 1.3, False),
        ProductSpec("新鲜草鸡蛋 30枚", "鸡蛋", 36.9, 2.0, False),
        ProductSpec("内蒙古原切牛排 10片", "牛排", 159.0, 1.6, False),
        ProductSpec("冷冻黑虎虾仁 500g", "虾仁", 69.9, 0.7, False),
        ProductSpec("鲜牛奶 950ml×2", "鲜奶", 29.9, 2.1, True),
        ProductSpec("有机小番茄 3斤", "小番茄", 32.9, 1.7, False),
        ProductSpec("东北鲜食玉米 10根", "玉米", 36.0, 3.2, False),
        ProductSpec("三文鱼刺身 300g", "三文鱼", 98.0, 0.5, False),
        ProductSpec("猕猴桃 12个装", "猕猴桃", 42.9, 1.5, False),
        ProductSpec("散养土鸡 1只", "土鸡", 88.0, 1.5, False),
        ProductSpec("蓝莓 4盒装", "蓝莓", 59.0, 0.6, False),
    ),
    "美妆": (
        ProductSpec("玻尿酸补水面膜 10片", "面膜", 59.0, 0.35, True),
        ProductSpec("烟酰胺亮肤精华 30ml", "精华", 149.0, 0.15, True),
        ProductSpec("清透防晒乳 SPF50 50ml", "防晒", 89.0, 0.12, True),
        ProductSpec("丝绒哑光口红", "口红", 79.0, 0.05, False),
        ProductSpec("氨基酸洁面乳 120g", "洗面奶", 49.9, 0.18, True),
        ProductSpec("控油散粉", "散粉", 69.0, 0.1, False),
        ProductSpec("保湿爽肤水 200ml", "爽肤水", 79.0, 0.3, True),
        ProductSpec("修护面霜 50g", "面霜", 168.0, 0.2, True),
        ProductSpec("眼影盘 12色", "眼影", 99.0, 0.15, False),
        ProductSpec("卸妆油 200ml", "卸妆油", 69.0, 0.28, True),
        ProductSpec("气垫粉底", "气垫", 129.0, 0.12, False),
        ProductSpec("眉笔 双头", "眉笔", 29.9, 0.03, False),
        ProductSpec("身体乳 400ml", "身体乳", 59.0, 0.48, True),
        ProductSpec("护手霜礼盒 5支", "护手霜", 45.0, 0.3, True),
        ProductSpec("化妆刷套装 8支", "化妆刷", 59.9, 0.3, False),
    ),
    "个护": (
        ProductSpec("氨基酸洗发水 500ml", "洗发水", 49.9, 0.6, True),
        ProductSpec("护发素 500ml", "护发素", 45.9, 0.6, True),
        ProductSpec("沐浴露 1L", "沐浴露", 39.9, 1.1, True),
        ProductSpec("声波电动牙刷", "电动牙刷", 199.0, 0.4, False),
        ProductSpec("含氟牙膏 3支装", "牙膏", 29.9, 0.45, False),
        ProductSpec("漱口水 500ml", "漱口水", 25.9, 0.6, True),
        ProductSpec("抽纸 24包", "抽纸", 49.9, 3.2, False),
        ProductSpec("湿厕纸 6包", "湿厕纸", 29.9, 0.9, False),
        ProductSpec("男士剃须刀", "剃须刀", 159.0, 0.35, False),
        ProductSpec("洗手液 3瓶装", "洗手液", 32.9, 1.3, True),
        ProductSpec("卫生巾 日夜组合", "卫生巾", 39.9, 0.6, False),
        ProductSpec("牙线棒 300支", "牙线", 19.9, 0.25, False),
        ProductSpec("香氛洗衣液 3kg", "洗衣液", 45.9, 3.1, True),
        ProductSpec("除螨喷雾 300ml", "除螨喷雾", 39.0, 0.35, True),
        ProductSpec("发膜 250ml", "发膜", 39.9, 0.3, True),
    ),
    "家居": (
        ProductSpec("纯棉四件套 1.8m床", "四件套", 299.0, 2.5, False),
        ProductSpec("乳胶枕 一对", "枕头", 199.0, 2.2, False),
        ProductSpec("夏凉被 200×230", "夏凉被", 159.0, 1.8, False),
        ProductSpec("陶瓷餐具套装 16件", "餐具", 129.0, 4.5, False),
        ProductSpec("不粘锅炒锅 32cm", "炒锅", 169.0, 1.9, False),
        ProductSpec("玻璃保鲜盒 6件套", "保鲜盒", 79.0, 2.4, False),
        ProductSpec("收纳箱 3个装", "收纳箱", 89.0, 3.0, False),
        ProductSpec("香薰蜡烛", "香薰", 59.0, 0.5, False),
        ProductSpec("浴巾毛巾套装", "毛巾", 69.0, 0.9, False),
        ProductSpec("折叠晾衣架", "晾衣架", 99.0, 2.6, False),
        ProductSpec("保温杯 500ml", "保温杯", 89.0, 0.45, False),
        ProductSpec("地垫 60×90", "地垫", 49.0, 1.2, False),
        ProductSpec("遮光窗帘 2片", "窗帘", 139.0, 2.0, False),
        ProductSpec("真空压缩袋 8个", "压缩袋", 39.9, 0.8, False),
        ProductSpec("竹纤维抹布 10条", "抹布", 19.9, 0.3, False),
    ),
    "数码": (
        ProductSpec("真无线蓝牙耳机", "蓝牙耳机", 199.0, 0.2, False),
        ProductSpec("20000mAh 快充充电宝", "充电宝", 129.0, 0.45, False),
        ProductSpec("65W 氮化镓充电器", "充电器", 99.0, 0.15, False),
        ProductSpec("编织数据线 3条装", "数据线", 39.9, 0.15, False),
        ProductSpec("机械键盘 87键", "键盘", 259.0, 1.1, False),
        ProductSpec("无线静音鼠标", "鼠标", 69.0, 0.15, False),
        ProductSpec("智能手环", "手环", 229.0, 0.2, False),
        ProductSpec("手机壳 磨砂款", "手机壳", 29.9, 0.08, False),
        ProductSpec("钢化膜 2片装", "钢化膜", 19.9, 0.06, False),
        ProductSpec("桌面支架", "支架", 49.0, 0.5, False),
        ProductSpec("便携蓝牙音箱", "音箱", 179.0, 0.6, False),
        ProductSpec("USB 扩展坞", "扩展坞", 149.0, 0.2, False),
        ProductSpec("128G 存储卡", "存储卡", 79.0, 0.03, False),
        ProductSpec("护眼台灯", "台灯", 189.0, 1.4, False),
        ProductSpec("车载手机支架", "车载支架", 59.0, 0.3, False),
    ),
    "服饰": (
        ProductSpec("纯棉圆领T恤 男款", "T恤", 69.0, 0.25, False),
        ProductSpec("冰丝防晒衣 女款", "防晒衣", 99.0, 0.3, False),
        ProductSpec("高腰阔腿牛仔裤", "牛仔裤", 159.0, 0.7, False),
        ProductSpec("真丝睡衣套装", "睡衣", 239.0, 0.4, False),
        ProductSpec("轻薄羽绒服", "羽绒服", 399.0, 0.8, False),
        ProductSpec("休闲帆布鞋", "帆布鞋", 129.0, 0.9, False),
        ProductSpec("运动袜 5双装", "袜子", 29.9, 0.3, False),
        ProductSpec("连衣裙 碎花款", "连衣裙", 189.0, 0.4, False),
        ProductSpec("双肩背包", "背包", 149.0, 0.8, False),
        ProductSpec("针织开衫", "开衫", 169.0, 0.5, False),
        ProductSpec("棒球帽", "帽子", 49.0, 0.15, False),
        ProductSpec("纯棉内裤 4条装", "内裤", 59.0, 0.25, False),
        ProductSpec("羊毛围巾", "围巾", 129.0, 0.25, False),
        ProductSpec("皮带 男士", "皮带", 99.0, 0.3, False),
        ProductSpec("冲锋衣 三合一", "冲锋衣", 459.0, 1.3, False),
    ),
    "母婴": (
        ProductSpec("婴儿纸尿裤 L码 108片", "纸尿裤", 139.0, 3.0, False),
        ProductSpec("婴儿湿巾 80抽×6包", "湿巾", 45.9, 2.4, False),
        ProductSpec("宝宝米粉 2段", "米粉", 68.0, 0.5, False),
        ProductSpec("玻璃奶瓶 240ml", "奶瓶", 89.0, 0.35, False),
        ProductSpec("婴儿洗护套装", "洗护套装", 99.0, 1.0, True),
        ProductSpec("儿童保温水杯", "水杯", 79.0, 0.4, False),
        ProductSpec("宝宝连体衣 3件", "连体衣", 119.0, 0.4, False),
        ProductSpec("益智积木 100粒", "积木", 99.0, 1.2, False),
        ProductSpec("婴儿推车 轻便款", "推车", 699.0, 7.5, False),
        ProductSpec("孕妇枕", "孕妇枕", 159.0, 1.8, False),
        ProductSpec("儿童牙膏", "儿童牙膏", 25.9, 0.15, False),
        ProductSpec("宝宝辅食碗勺套装", "辅食碗", 49.0, 0.5, False),
        ProductSpec("婴儿爽身粉", "爽身粉", 29.9, 0.2, False),
        ProductSpec("儿童绘本 10册", "绘本", 89.0, 2.0, False),
        ProductSpec("防胀气奶嘴 2个", "奶嘴", 39.0, 0.1, False),
    ),
    "宠物": (
        ProductSpec("全价成猫粮 2kg", "猫粮", 99.0, 2.1, False),
        ProductSpec("全价成犬粮 5kg", "狗粮", 169.0, 5.2, False),
        ProductSpec("豆腐猫砂 6L×4包", "猫砂", 79.0, 10.0, False),
        ProductSpec("猫条 30支", "猫条", 39.9, 0.5, False),
        ProductSpec("宠物冻干零食", "冻干", 59.0, 0.3, False),
        ProductSpec("猫抓板", "猫抓板", 35.0, 1.0, False),
        ProductSpec("宠物自动饮水机", "饮水机", 129.0, 1.2, False),
        ProductSpec("狗狗牵引绳", "牵引绳", 45.0, 0.3, False),
        ProductSpec("宠物窝 四季通用", "宠物窝", 119.0, 1.5, False),
        ProductSpec("宠物沐浴露", "宠物沐浴露", 49.0, 0.6, True),
    ),
    "运动": (
        ProductSpec("加厚瑜伽垫", "瑜伽垫", 89.0, 1.3, False),
        ProductSpec("可调节哑铃 10kg", "哑铃", 199.0, 10.5, False),
        ProductSpec("跳绳 计数款", "跳绳", 39.0, 0.3, False),
        ProductSpec("运动水壶 1L", "水壶", 49.0, 0.3, False),
        ProductSpec("速干运动短裤", "运动短裤", 79.0, 0.2, False),
        ProductSpec("筋膜枪", "筋膜枪", 299.0, 1.0, False),
        ProductSpec("羽毛球拍 对拍", "羽毛球拍", 159.0, 0.6, False),
        ProductSpec("户外折叠椅", "折叠椅", 119.0, 2.5, False),
        ProductSpec("登山杖", "登山杖", 89.0, 0.6, False),
        ProductSpec("蛋白粉 巧克力味 2磅", "蛋白粉", 239.0, 1.0, False),
    ),
}

#: Categories whose reviews talk about taste; perishables also talk about freshness.
TASTE_CATEGORIES: Final = frozenset({"食品", "生鲜"})
FRESH_CATEGORIES: Final = frozenset({"生鲜"})

SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
)
GIVEN_CHARS: Final = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹"
    "霞香月莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴"
    "蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬"
    "舒影荔枝思丽浩宇轩博文俊辉鹏晨阳子豪睿哲一鸣天佑泽楷瀚思远振宇嘉懿煜城懿轩烨伟苑博伟泽熠彤鸿煊博涛"
)
NICKNAME_PARTS: Final = (
    ("小", "阿", "大", "爱吃", "不吃", "快乐的", "懒懒的", "会飞的", "momo", "橙子", "喵喵", "Lucky"),
    (
        "鱼",
        "猫",
        "兔",
        "熊",
        "桃子",
        "芒果",
        "土豆",
        "丸子",
        "酱",
        "宝妈",
        "打工人",
        "吃货",
        "小仙女",
        "奶爸",
    ),
)

#: Sales channels of orders; codes, since reports group by them.
SALES_CHANNELS: Final = (("app", 0.52), ("miniprogram", 0.26), ("web", 0.13), ("livestream", 0.09))

#: Customer-service shifts (start hour inclusive, end hour exclusive, wrapping at midnight).
SHIFTS: Final = (("早班", 8, 15), ("中班", 15, 22), ("晚班", 22, 8))

#: How the customers behave where no planted problem decides it (``behaviour.yaml``): the chances of
#: unprompted praise and complaints in reviews, and each competitor's review profile.
BEHAVIOUR: Final[dict[str, Any]] = yaml.safe_load(
    files("cxloop.demo").joinpath("behaviour.yaml").read_text(encoding="utf-8")
)
