"""Staff, customers, follow relations, corp tags and customer groups as WeCom reports them; sync and its pages."""
