"""Staff review of published entries and the daily limit on them (issue 13, finding 6).

Existing entries are approved (the field's default), except published entries typed in by
users: those were public at once, without review, so they join the moderation queue. Seeded
entries (no owner) stay approved. Each user's published entry gets its record for the daily
limit, dated when the entry was created.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def queue_user_published_entries(apps, schema_editor):
    Entry = apps.get_model("leaderboard", "Entry")
    Record = apps.get_model("leaderboard", "PublishedEntryRecord")
    typed_in = Entry.objects.filter(kind="published", owner__isnull=False)
    Record.objects.bulk_create(Record(owner_id=e.owner_id, entry_id=e.pk, created_at=e.created_at)
                               for e in typed_in.only("pk", "owner_id", "created_at"))
    typed_in.update(review="pending")


class Migration(migrations.Migration):

    dependencies = [
        ('leaderboard', '0007_task_from_registry'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='EntryAwaitingReview',
            fields=[
            ],
            options={
                'verbose_name': 'published entry awaiting review',
                'verbose_name_plural': 'published entries awaiting review',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('leaderboard.entry',),
        ),
        migrations.AddField(
            model_name='entry',
            name='review',
            field=models.CharField(choices=[('pending', 'Awaiting review'), ('approved', 'Approved'), ('rejected', 'Rejected')], default='approved', help_text='Public only once approved: a published entry from a user waits for staff.', max_length=10),
        ),
        migrations.AddField(
            model_name='entry',
            name='review_reason',
            field=models.TextField(blank=True, help_text="Staff's reason, sent to the submitter and shown with the entry."),
        ),
        migrations.AddField(
            model_name='entry',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='entry',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.CreateModel(
            name='PublishedEntryRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('entry', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='leaderboard.entry')),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['owner', 'created_at'], name='leaderboard_owner_i_c699dd_idx')],
            },
        ),
        migrations.RunPython(queue_user_published_entries, migrations.RunPython.noop),
    ]
