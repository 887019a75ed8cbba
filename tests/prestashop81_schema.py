"""PrestaShop 8.1's tables, as install-dev/data/db_structure.sql creates them: a manifest of the facts
(names, types, nullability, keys) of the tables Heartbeat's demo shop creates, not the file itself.

One line per column (a backslash continues a long line): `name type [null]`, the type as MySQL
reports it without display widths (`int unsigned`, `tinyint unsigned`, `decimal(20,6)`,
`varchar(64)`, `enum(...)`), `null` when the column accepts NULL. Then the keys: `PRIMARY cols`,
`KEY name cols`, `UNIQUE name cols` (cols comma separated; an unnamed key is named as MySQL names
it, after its first column).

Tables PrestaShop 8 creates through Doctrine (ps_lang, ps_lang_shop, ps_shop, ps_shop_group,
ps_attribute*, ps_attribute_group*) are not in db_structure.sql and not here.
"""

from __future__ import annotations

import re

TABLES = {
    "product": """
        id_product int unsigned
        id_supplier int unsigned null
        id_manufacturer int unsigned null
        id_category_default int unsigned null
        id_shop_default int unsigned
        id_tax_rules_group int unsigned
        on_sale tinyint unsigned
        online_only tinyint unsigned
        ean13 varchar(13) null
        isbn varchar(32) null
        upc varchar(12) null
        mpn varchar(40) null
        ecotax decimal(17,6)
        quantity int
        minimal_quantity int unsigned
        low_stock_threshold int null
        low_stock_alert tinyint
        price decimal(20,6)
        wholesale_price decimal(20,6)
        unity varchar(255) null
        unit_price decimal(20,6)
        unit_price_ratio decimal(20,6)
        additional_shipping_cost decimal(20,6)
        reference varchar(64) null
        supplier_reference varchar(64) null
        location varchar(255)
        width decimal(20,6)
        height decimal(20,6)
        depth decimal(20,6)
        weight decimal(20,6)
        out_of_stock int unsigned
        additional_delivery_times tinyint unsigned
        quantity_discount tinyint null
        customizable tinyint
        uploadable_files tinyint
        text_fields tinyint
        active tinyint unsigned
        redirect_type enum('','404','410','301-product','302-product','301-category','302-category',\
            '200-displayed','404-displayed','410-displayed','default')
        id_type_redirected int unsigned
        available_for_order tinyint
        available_date date null
        show_condition tinyint
        condition enum('new','used','refurbished')
        show_price tinyint
        indexed tinyint
        visibility enum('both','catalog','search','none')
        cache_is_pack tinyint
        cache_has_attachments tinyint
        is_virtual tinyint
        cache_default_attribute int unsigned null
        date_add datetime
        date_upd datetime
        date_novelty datetime
        advanced_stock_management tinyint
        pack_stock_type int unsigned
        state int unsigned
        product_type enum('standard','pack','virtual','combinations','')
        PRIMARY id_product
        KEY reference_idx reference
        KEY supplier_reference_idx supplier_reference
        KEY product_supplier id_supplier
        KEY product_manufacturer id_manufacturer,id_product
        KEY id_category_default id_category_default
        KEY indexed indexed
        KEY date_add date_add
        KEY state state,date_upd
    """,
    "product_shop": """
        id_product int unsigned
        id_shop int unsigned
        id_category_default int unsigned null
        id_tax_rules_group int unsigned
        on_sale tinyint unsigned
        online_only tinyint unsigned
        ecotax decimal(17,6)
        minimal_quantity int unsigned
        low_stock_threshold int null
        low_stock_alert tinyint
        price decimal(20,6)
        wholesale_price decimal(20,6)
        unity varchar(255) null
        unit_price decimal(20,6)
        unit_price_ratio decimal(20,6)
        additional_shipping_cost decimal(20,6)
        customizable tinyint
        uploadable_files tinyint
        text_fields tinyint
        active tinyint unsigned
        redirect_type enum('','404','410','301-product','302-product','301-category','302-category',\
            '200-displayed','404-displayed','410-displayed','default')
        id_type_redirected int unsigned
        available_for_order tinyint
        available_date date null
        show_condition tinyint
        condition enum('new','used','refurbished')
        show_price tinyint
        indexed tinyint
        visibility enum('both','catalog','search','none')
        cache_default_attribute int unsigned null
        advanced_stock_management tinyint
        date_add datetime
        date_upd datetime
        date_novelty datetime
        pack_stock_type int unsigned
        PRIMARY id_product,id_shop
        KEY id_category_default id_category_default
        KEY date_add date_add,active,visibility
        KEY indexed indexed,active,id_product
    """,
    "product_lang": """
        id_product int unsigned
        id_shop int unsigned
        id_lang int unsigned
        description text null
        description_short text null
        link_rewrite varchar(128)
        meta_description varchar(512) null
        meta_keywords varchar(255) null
        meta_title varchar(128) null
        name varchar(128)
        available_now varchar(255) null
        available_later varchar(255) null
        delivery_in_stock varchar(255) null
        delivery_out_stock varchar(255) null
        PRIMARY id_product,id_shop,id_lang
        KEY id_lang id_lang
        KEY name name
    """,
    "stock_available": """
        id_stock_available int unsigned
        id_product int unsigned
        id_product_attribute int unsigned
        id_shop int unsigned
        id_shop_group int unsigned
        quantity int
        physical_quantity int
        reserved_quantity int
        depends_on_stock tinyint unsigned
        out_of_stock tinyint unsigned
        location varchar(255)
        PRIMARY id_stock_available
        KEY id_shop id_shop
        KEY id_shop_group id_shop_group
        KEY id_product id_product
        KEY id_product_attribute id_product_attribute
        UNIQUE product_sqlstock id_product,id_product_attribute,id_shop,id_shop_group
    """,
    "category": """
        id_category int unsigned
        id_parent int unsigned
        id_shop_default int unsigned
        level_depth tinyint unsigned
        nleft int unsigned
        nright int unsigned
        active tinyint unsigned
        date_add datetime
        date_upd datetime
        position int unsigned
        is_root_category tinyint
        PRIMARY id_category
        KEY category_parent id_parent
        KEY nleftrightactive nleft,nright,active
        KEY level_depth level_depth
        KEY nright nright
        KEY activenleft active,nleft
        KEY activenright active,nright
    """,
    "category_lang": """
        id_category int unsigned
        id_shop int unsigned
        id_lang int unsigned
        name varchar(128)
        description text null
        additional_description text null
        link_rewrite varchar(128)
        meta_title varchar(255) null
        meta_keywords varchar(255) null
        meta_description varchar(512) null
        PRIMARY id_category,id_shop,id_lang
        KEY category_name name
    """,
    "category_shop": """
        id_category int
        id_shop int
        position int unsigned
        PRIMARY id_category,id_shop
    """,
    "category_product": """
        id_category int unsigned
        id_product int unsigned
        position int unsigned
        PRIMARY id_category,id_product
        KEY id_product id_product
        KEY id_category id_category,position
    """,
    "manufacturer": """
        id_manufacturer int unsigned
        name varchar(64)
        date_add datetime
        date_upd datetime
        active tinyint
        PRIMARY id_manufacturer
    """,
    "product_attribute": """
        id_product_attribute int unsigned
        id_product int unsigned
        reference varchar(64) null
        supplier_reference varchar(64) null
        ean13 varchar(13) null
        isbn varchar(32) null
        upc varchar(12) null
        mpn varchar(40) null
        wholesale_price decimal(20,6)
        price decimal(20,6)
        ecotax decimal(17,6)
        weight decimal(20,6)
        unit_price_impact decimal(20,6)
        default_on tinyint unsigned null
        minimal_quantity int unsigned
        low_stock_threshold int null
        low_stock_alert tinyint
        available_date date null
        PRIMARY id_product_attribute
        KEY product_attribute_product id_product
        KEY reference reference
        KEY supplier_reference supplier_reference
        UNIQUE product_default id_product,default_on
        KEY id_product_id_product_attribute id_product_attribute,id_product
    """,
    "product_attribute_shop": """
        id_product int unsigned
        id_product_attribute int unsigned
        id_shop int unsigned
        wholesale_price decimal(20,6)
        price decimal(20,6)
        ecotax decimal(17,6)
        weight decimal(20,6)
        unit_price_impact decimal(20,6)
        default_on tinyint unsigned null
        minimal_quantity int unsigned
        low_stock_threshold int null
        low_stock_alert tinyint
        available_date date null
        PRIMARY id_product_attribute,id_shop
        UNIQUE id_product id_product,id_shop,default_on
    """,
    "product_attribute_combination": """
        id_attribute int unsigned
        id_product_attribute int unsigned
        PRIMARY id_attribute,id_product_attribute
        KEY id_product_attribute id_product_attribute
    """,
    "product_attribute_image": """
        id_product_attribute int unsigned
        id_image int unsigned
        PRIMARY id_product_attribute,id_image
        KEY id_image id_image
    """,
    "image": """
        id_image int unsigned
        id_product int unsigned
        position smallint unsigned
        cover tinyint unsigned null
        PRIMARY id_image
        KEY image_product id_product
        UNIQUE id_product_cover id_product,cover
        UNIQUE idx_product_image id_image,id_product,cover
    """,
    "image_shop": """
        id_product int unsigned
        id_image int unsigned
        id_shop int unsigned
        cover tinyint unsigned null
        PRIMARY id_image,id_shop
        UNIQUE id_product id_product,id_shop,cover
        KEY id_shop id_shop
    """,
    "image_lang": """
        id_image int unsigned
        id_lang int unsigned
        legend varchar(128) null
        PRIMARY id_image,id_lang
        KEY id_image id_image
    """,
    "feature": """
        id_feature int unsigned
        position int unsigned
        PRIMARY id_feature
    """,
    "feature_lang": """
        id_feature int unsigned
        id_lang int unsigned
        name varchar(128) null
        PRIMARY id_feature,id_lang
        KEY id_lang id_lang,name
    """,
    "feature_product": """
        id_feature int unsigned
        id_product int unsigned
        id_feature_value int unsigned
        PRIMARY id_feature,id_product,id_feature_value
        KEY id_feature_value id_feature_value
        KEY id_product id_product
    """,
    "feature_value": """
        id_feature_value int unsigned
        id_feature int unsigned
        custom tinyint unsigned null
        PRIMARY id_feature_value
        KEY feature id_feature
    """,
    "feature_value_lang": """
        id_feature_value int unsigned
        id_lang int unsigned
        value varchar(255) null
        PRIMARY id_feature_value,id_lang
    """,
    "feature_shop": """
        id_feature int unsigned
        id_shop int unsigned
        PRIMARY id_feature,id_shop
        KEY id_shop id_shop
    """,
    "tax": """
        id_tax int unsigned
        rate decimal(10,3)
        active tinyint unsigned
        deleted tinyint unsigned
        PRIMARY id_tax
    """,
    "tax_rule": """
        id_tax_rule int
        id_tax_rules_group int
        id_country int
        id_state int
        zipcode_from varchar(12)
        zipcode_to varchar(12)
        id_tax int
        behavior int
        description varchar(100)
        PRIMARY id_tax_rule
        KEY id_tax_rules_group id_tax_rules_group
        KEY id_tax id_tax
        KEY category_getproducts id_tax_rules_group,id_country,id_state,zipcode_from
    """,
    "tax_rules_group": """
        id_tax_rules_group int
        name varchar(50)
        active int
        deleted tinyint unsigned
        date_add datetime
        date_upd datetime
        PRIMARY id_tax_rules_group
    """,
    "specific_price": """
        id_specific_price int unsigned
        id_specific_price_rule int unsigned
        id_cart int unsigned
        id_product int unsigned
        id_shop int unsigned
        id_shop_group int unsigned
        id_currency int unsigned
        id_country int unsigned
        id_group int unsigned
        id_customer int unsigned
        id_product_attribute int unsigned
        price decimal(20,6)
        from_quantity mediumint unsigned
        reduction decimal(20,6)
        reduction_tax tinyint
        reduction_type enum('amount','percentage')
        from datetime
        to datetime
        PRIMARY id_specific_price
        KEY id_product id_product,id_shop,id_currency,id_country,id_group,id_customer,from_quantity,from,to
        KEY from_quantity from_quantity
        KEY id_specific_price_rule id_specific_price_rule
        KEY id_cart id_cart
        KEY id_product_attribute id_product_attribute
        KEY id_shop id_shop
        KEY id_customer id_customer
        KEY from from
        KEY to to
        UNIQUE id_product_2 id_product,id_product_attribute,id_customer,id_cart,from,to,id_shop,\
            id_shop_group,id_currency,id_country,id_group,from_quantity,id_specific_price_rule
    """,
    "specific_price_priority": """
        id_specific_price_priority int
        id_product int
        priority varchar(80)
        PRIMARY id_specific_price_priority,id_product
        UNIQUE id_product id_product
    """,
    "configuration": """
        id_configuration int unsigned
        id_shop_group int unsigned null
        id_shop int unsigned null
        name varchar(254)
        value text null
        date_add datetime
        date_upd datetime
        PRIMARY id_configuration
        KEY name name
        KEY id_shop id_shop
        KEY id_shop_group id_shop_group
    """,
    "group": """
        id_group int unsigned
        reduction decimal(5,2)
        price_display_method tinyint
        show_prices tinyint unsigned
        date_add datetime
        date_upd datetime
        PRIMARY id_group
    """,
    "product_group_reduction_cache": """
        id_product int unsigned
        id_group int unsigned
        reduction decimal(5,4)
        PRIMARY id_product,id_group
    """,
}


def parse(text: str) -> dict:
    """One table's lines as {"columns": [(name, type, nullable)], "primary": [cols],
    "keys": {name: (cols, unique)}}."""
    columns, primary, keys = [], [], {}
    for line in (raw.strip() for raw in text.strip().splitlines()):
        head, _, rest = line.partition(" ")
        if head == "PRIMARY":
            primary = rest.split(",")
        elif head in ("KEY", "UNIQUE"):
            name, cols = rest.split(" ", 1)
            keys[name] = (tuple("".join(cols.split()).split(",")), head == "UNIQUE")
        else:
            nullable = rest.endswith(" null")
            columns.append((head, re.sub(r",\s+", ",", rest.removesuffix(" null")), nullable))
    return {"columns": columns, "primary": primary, "keys": keys}


MANIFEST = {name: parse(text) for name, text in TABLES.items()}
