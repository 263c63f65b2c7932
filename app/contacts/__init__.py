"""Staff, customers, follow relations (with their tag ids) and customer groups as WeCom reports them; sync, pages."""
