"""WeCom integration: the gateway (the only wechatpy user), its errors, rate limiting and callback crypto."""
