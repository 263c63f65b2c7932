"""Word lists for believable seeded companies: Chinese names with pinyin, departments, tags, channels."""

SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
            ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
            ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
            ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
            ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
            ("袁", "yuan"), ("蔡", "cai"), ("蒋", "jiang"), ("余", "yu"), ("于", "yu"), ("杜", "du"),
            ("叶", "ye"), ("程", "cheng"), ("魏", "wei"), ("苏", "su"), ("吕", "lv"), ("丁", "ding"),
            ("沈", "shen"), ("任", "ren"), ("姚", "yao"), ("卢", "lu"), ("钟", "zhong"), ("姜", "jiang")]

GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
         ("强", "qiang"), ("磊", "lei"), ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("军", "jun"),
         ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
         ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("英", "ying"), ("华", "hua"),
         ("玉", "yu"), ("兰", "lan"), ("萍", "ping"), ("红", "hong"), ("鹏", "peng"), ("浩", "hao"),
         ("宇", "yu"), ("欣", "xin"), ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("晨", "chen"),
         ("子", "zi"), ("梓", "zi"), ("涵", "han"), ("佳", "jia"), ("怡", "yi"), ("博", "bo"),
         ("文", "wen"), ("思", "si"), ("雨", "yu"), ("嘉", "jia"), ("俊", "jun"), ("颖", "ying")]

NICKNAMES = ["小太阳", "追风少年", "安静的猫", "Lily", "Jason", "晴天", "一只鱼", "Coco", "阿杰",
             "慢慢来", "Amy", "向日葵", "木子", "Kevin", "不二", "星星", "暖暖", "David", "清风", "可乐"]

DEPARTMENTS = [("销售一部", "Sales I"), ("销售二部", "Sales II"), ("客户服务部", "Customer Service"),
               ("市场部", "Marketing"), ("私域运营部", "Private Traffic"), ("华东大区", "East China"),
               ("华南大区", "South China"), ("华北大区", "North China"), ("技术部", "Engineering")]

POSITIONS = ["客户经理", "高级客户经理", "销售顾问", "客服专员", "运营专员", "社群运营", "店长"]

TAG_GROUPS = [("客户等级", ["A类客户", "B类客户", "C类客户", "潜在客户"]),
              ("兴趣", ["美妆", "母婴", "数码", "运动", "美食", "旅行"]),
              ("来源", ["线下门店", "直播间", "朋友推荐", "广告投放", "公众号"])]

CHANNEL_STATES = ["store_sh01", "store_bj02", "store_gz03", "live_618", "live_double11",
                  "ad_douyin", "ad_wechat", "gzh_menu", "poster_spring", "expo_2024"]

REMARK_SUFFIXES = ["姐", "哥", "总", "老师", "女士", "先生"]

DESCRIPTIONS = ["对接采购事务", "老客户，复购率高", "关注新品上市", "价格敏感，等活动", "门店到访过",
                "直播间下单", "孩子两岁，关注母婴", "公司团购负责人", "喜欢户外运动", "需要售后回访"]

COMPANIES = [("腾云科技", "深圳腾云科技有限公司"), ("华信贸易", "上海华信贸易有限公司"),
             ("远航物流", "广州远航物流股份有限公司"), ("嘉禾餐饮", "杭州嘉禾餐饮管理有限公司")]

GROUP_THEMES = ["VIP客户群", "新品体验群", "会员福利群", "宝妈交流群", "数码发烧友", "门店粉丝群",
                "健身打卡群", "美食分享群", "旅行达人群", "团购福利群"]

# add_way values with rough weights: QR codes dominate, then phone search, cards, groups, ...
ADD_WAYS = [(1, 45), (2, 12), (3, 8), (4, 8), (5, 5), (6, 6), (0, 3), (9, 2), (10, 3), (16, 4),
            (201, 2), (202, 2)]
