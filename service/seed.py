"""Demo data for the configured bureau: its jurisdictions and the occupations, one user per role
and jurisdiction, and institutions at several stages, moved there through the real use cases.
Every name and place is drawn from the bureau's data, so a second city's demo speaks of that city."""
from __future__ import annotations

from sqlalchemy import select

from . import sheets
from .domain import calendar as cal
from .domain.codes import credit_code_check_char, id_number_check_char
from .processes import batch, complaint, filing, spot_check, supervision
from .reference import load_reference_data
from .store.models import Filing, HumanTask, Institution, Jurisdiction, ScopeItem, User
from .usecases import accounts, assessors, attachments, messages, register, tasks
from .usecases.context import Context, unit_of_work

DEMO_PASSWORD = "demo-pass-2024"


def demo_credit_code(serial: int, division: str = "341702") -> str:
    first17 = f"52{division}MJ{serial:07d}"[:17]
    return first17 + credit_code_check_char(first17)


def application(credit_code: str, name: str, kind: str = "social_org", jurisdiction: str = "341702",
                scope=(("6-31-01-03", "4"),), attachment_id: int = 0, address: str = "长江中路1号",
                **facts) -> dict:
    """A complete, eligible application; tests and the demo override what they need."""
    data = {
        "name": name, "credit_code": credit_code, "kind": kind, "jurisdiction": jurisdiction,
        "address": address, "legal_representative": "张三", "contact_name": "李四",
        "contact_phone": "13800000000",
        "scope": [{"occupation_code": code, "level": level, "assessors": 6} for code, level in scope],
        "is_independent_legal_person": True, "has_good_credit": True, "has_management_rules": True,
        "has_dedicated_department": True, "has_quality_controls": True, "has_video_monitoring": True,
        "site_owned": True, "office_area_m2": 80, "theory_site_area_m2": 90, "site_use_years": 5,
        "theory_seats": 40, "practical_stations": 12,
        "is_large_or_medium": True, "has_talent_mechanism": True, "scope_related_to_main_business": True,
        "has_question_bank": True, "serves_own_students": True, "highest_level_by_education": "3",
    }
    for material in ("material_filing_form", "material_licence", "material_plan", "material_experts",
                     "material_assets"):
        data[material] = str(attachment_id)
    data.update(facts)
    return data


def seed_demo(ctx: Context) -> str:
    with unit_of_work(ctx) as session:
        load_reference_data(session, ctx.bureau)
        if session.scalar(select(User.id).limit(1)) is not None:
            return "demo data already present"
        # counties and districts (six-digit division codes) first, the functional zones after them
        places = sorted(session.execute(select(Jurisdiction.code, Jurisdiction.name)).all(),
                        key=lambda place: (not place[0].isdigit(), place[0]))
        home, district = places[0]
        city_name, short = ctx.bureau.city, ctx.bureau.city_short
        institutions = []
        for serial, (name, kind) in enumerate([(f"{city_name}职业技能培训评价中心", "social_org"),
                                               (f"{short}安达电气有限公司", "enterprise"),
                                               (f"{city_name}技工学校", "school"),
                                               (f"{district}新星职业培训学校", "social_org")], start=1):
            row = Institution(credit_code=demo_credit_code(serial, home), name=name, kind=kind,
                              jurisdiction_code=home, contact_phone="13800000000")
            session.add(row)
            institutions.append(row)
        session.flush()
        ids = [i.id for i in institutions]
        codes = [code for code, _ in places]
    accounts.create_user(ctx, "analyst", DEMO_PASSWORD, "流程分析员", "analyst")
    accounts.create_user(ctx, "city", DEMO_PASSWORD, "市人社局 王审核", "city")
    accounts.create_user(ctx, "province", DEMO_PASSWORD, "省技能人才管理服务中心 李复核", "province")
    accounts.create_user(ctx, "inspector1", DEMO_PASSWORD, "督查员 赵督查", "inspector")
    for n, code in enumerate(codes, start=1):
        accounts.create_user(ctx, f"county{n}", DEMO_PASSWORD, f"县区人社 {code}", "county", jurisdiction_code=code)
    users = [accounts.create_user(ctx, f"inst{n}", DEMO_PASSWORD, f"机构经办人{n}", "institution",
                                  institution_id=i) for n, i in enumerate(ids, start=1)]
    with unit_of_work(ctx) as session:
        county = session.scalar(select(User.id).where(User.username == "county1"))
        city = session.scalar(select(User.id).where(User.username == "city"))
        names = {i.id: (i.name, i.credit_code, i.kind) for i in session.scalars(select(Institution))}
    address = f"{ctx.bureau.city}{district}长江中路1号"

    def submit(user_id, institution_id):
        started = filing.start_filing(ctx, user_id)
        attachment = attachments.upload_attachment(ctx, user_id, "备案材料.pdf", "application/pdf", b"%PDF-1.4 demo")
        name, code, kind = names[institution_id]
        tasks.complete(ctx, user_id, started.task_id,
                       application(code, name, kind, jurisdiction=home, attachment_id=attachment, address=address))
        return started.instance_id

    def next_task(instance_id):
        with unit_of_work(ctx) as session:
            return session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                             HumanTask.state == "open"))

    def review(instance_id, up_to):
        steps = [(county, {"decision": "forward", "opinion": "材料齐全，同意上报"}),
                 (city, "approve"),
                 (county, {"opinion": "同意公示"})]
        for user_id, data in steps[:up_to]:
            if data == "approve":
                opened = tasks.open_task(ctx, user_id, next_task(instance_id))
                data = {"decision": "approve", "opinion": "同意备案", "approved_scope": opened.data["scope"]}
            tasks.complete(ctx, user_id, next_task(instance_id), data)

    filed = _filed_before_the_system(ctx, places[min(3, len(places) - 1)])
    _a_batch_being_planned(ctx, city, filed, places[min(3, len(places) - 1)][0])
    _supervision(ctx, city, f"county{min(3, len(places) - 1) + 1}", filed)
    review(submit(users[0], ids[0]), 3)  # in public notice
    review(submit(users[1], ids[1]), 1)  # waiting for the city
    submit(users[2], ids[2])             # waiting for the county
    filing.start_filing(ctx, users[3])   # a draft
    # Art. 19: a public complaint about an unfiled school, waiting for the first county (county1)
    complaint.submit_complaint(ctx, home, None, f"{district}新星职业培训学校", "王先生", "13912345678",
                               "该校尚未取得职业技能等级认定备案，却以“等级认定、包过发证”为名招生，"
                               "每人收取报名费800元。")
    return (f"demo data ready: users analyst, city, province, inspector1, county1..county{len(codes)}, inst1..inst5; "
            f"password {DEMO_PASSWORD}")


def _filed_before_the_system(ctx: Context, place: tuple[str, str]) -> int:
    """An institution filed before the system went live, so the public directory is not empty."""
    code, district = place
    with unit_of_work(ctx) as session:
        start = cal.add_days(ctx.today(), -200)
        row = Institution(credit_code=demo_credit_code(90, code), name=f"{district}华能电力技能评价中心",
                          kind="social_org", jurisdiction_code=code, status="filed_pilot",
                          valid_from=start, valid_until=cal.add_days(cal.add_years(start, 3), -1),
                          pilot_until=cal.add_days(cal.add_years(start, 1), -1))
        row.filing_code = register.next_filing_code(session, ctx.bureau, "social_org")
        row.scope = [ScopeItem(occupation_code="6-31-01-03", level=level) for level in ("5", "4", "3")]
        session.add(row)
        session.flush()
        receipt = Filing(institution_id=row.id, jurisdiction_code=row.jurisdiction_code, status="filed",
                         filing_code=row.filing_code,
                         receipt_number=register.next_receipt_number(session, ctx.bureau, start.year),
                         requested_scope=[], decided_at=ctx.clock.now())
        session.add(receipt)
        session.flush()
        facts = {"institution_id": row.id, "filing_id": receipt.id, "name": row.name, "credit_code": row.credit_code,
                 "kind": row.kind, "jurisdiction": row.jurisdiction_code, "filing_code": row.filing_code,
                 "filing_date": start.isoformat(), "valid_until": row.valid_until.isoformat()}
        # as a receipt of the system's own would: the three years and the pilot (ending in about 165 days) run
        messages.publish(ctx, session, "validity_started", row, facts)
        messages.publish(ctx, session, "filing_filed", row, {**facts, "pilot_until": row.pilot_until.isoformat()})
        return row.id


def _supervision(ctx: Context, city_user: int, county_name: str, institution_id: int) -> None:
    """Art. 19–21: a media report on the filed institution, with its county to investigate, and the
    city's first spot-check draw, with inspector1 to check."""
    with unit_of_work(ctx) as session:
        county = session.scalar(select(User.id).where(User.username == county_name))
    supervision.open_case(ctx, county, institution_id, "media",
                          "当地媒体报道该机构在电工认定考试中存在考场秩序混乱、考生互相交流的情况。")
    spot_check.draw_plan(ctx, city_user, f"{ctx.today().year}年第四季度双随机抽查", count=1, seed="demo")


def _a_batch_being_planned(ctx: Context, city_user: int, institution_id: int, division: str) -> None:
    """Art. 15: the city's assessor registry, and the filed institution (user inst5) with a batch
    whose candidates are imported and whose plan waits to be filed — both through the real imports."""
    def person(serial: int, born: str) -> str:
        first17 = f"{division[:6]}{born}{serial:03d}"
        return first17 + id_number_check_char(first17)

    registry = [(f"考评员{n}", person(n, "19750301"), f"KP{n:06d}", "6-31-01-03", "三级",
                 cal.add_years(ctx.today(), 3), "否") for n in range(1, 6)]
    assessors.import_assessors(ctx, city_user, "考评员名册.xlsx",
                               sheets.write(assessors.COLUMNS, registry, "考评员名册"))
    user = accounts.create_user(ctx, "inst5", DEMO_PASSWORD, "机构经办人5", "institution",
                                institution_id=institution_id)
    started = batch.start_batch(ctx, user)
    names = "赵钱孙李周吴郑王冯陈褚卫"
    rows = [(f"{surname}明", person(100 + n, "19950615"), "13800000000", "6-31-01-03", "四级", "4-1", "", "")
            for n, surname in enumerate(names)]
    batch.import_candidates(ctx, user, started.batch_id, "参加认定人员.xlsx",
                            sheets.write(batch.CANDIDATE_COLUMNS, rows, "参加认定人员"))
