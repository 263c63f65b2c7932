"""Lifecycle stages (活跃 / 预警 / 沉睡 / 深度沉睡 / 已流失) by days since a customer's last interaction, with history."""
