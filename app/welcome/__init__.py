"""Welcome messages (欢迎语): channels (渠道活码), templates, the add-contact welcome, group joins, the report."""
