"""The browser reaches the live server and renders the home page."""


def test_home_page_renders_in_the_browser(live_server, page, screenshot):
    page.goto(live_server + "/")
    assert "池州市技能人才评价机构管理系统" in page.locator("h1").inner_text()
    screenshot(page, "home")
