"""The background job of the photo import: a zip of photos, processed on both cores."""
from __future__ import annotations

from ..core.jobs import JobContext, handler
from .photos import import_photos, release_reads


@handler("candidate_photos", "导入考生照片")
def run_photo_import(ctx: JobContext) -> None:
    # The job's transaction has only read when processing starts: release it (no write lock
    # is held while images are processed); the write phase opens the one that commits.
    report = import_photos(ctx.actor, ctx.params["school_id"], ctx.input_path(),
                           file_name=ctx.job.input_name or "",
                           progress=lambda done, total: ctx.progress(done, total, "正在处理照片"),
                           release=release_reads)
    ctx.job.result = report.as_dict()
    used = report.attached + report.replaced
    ctx.progress(report.files, report.files, force=True)
    text = f"照片 {report.files} 个：导入 {used}（新上传 {report.attached}，替换 {report.replaced}）"
    if report.skipped:
        text += f"，{report.skipped} 个未导入"
    if report.others:
        text += f"；另有 {report.others} 个非照片文件已跳过"
    if not used and (report.files or report.others):
        ctx.set_outcome(text, "未导入", "danger")
    elif report.skipped or report.others:
        ctx.set_outcome(text, "部分导入", "warning")
    else:
        ctx.set_outcome(text)
