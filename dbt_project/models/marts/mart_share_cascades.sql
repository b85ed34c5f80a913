-- The published share campaigns: those whose reach and purchasers count no one or at least k
-- people (meta counts_people). The rest stay in mart_share_campaigns, unpublished.
select *
from {{ ref('mart_share_campaigns') }}
where not (
    reached_users between 1 and {{ k_anonymity() - 1 }}
    or purchasers between 1 and {{ k_anonymity() - 1 }}
)
