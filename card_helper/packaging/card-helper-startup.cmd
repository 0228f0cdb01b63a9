@echo off
rem 機構卡讀卡程式：放進「啟動」資料夾（shell:startup），登入時啟動。PORTAL 換成入口網站網址。
start "" pyw "C:\Program Files\card-helper\card-helper.pyz" --origin PORTAL
