using DurableJobs.Orchestration.Limits;

namespace DurableJobs.Orchestration.Tests.Limits;

public sealed class LimitTurnQueueTests
{
    private static void Add(LimitTurnQueue<string> queue, string batch, int count, int? priority = null, string? tenant = null)
    {
        for (int i = 0; i < count; i++)
        {
            queue.Enqueue(new LimitClaim(batch, priority, tenant), batch);
        }
    }

    private static string Take(LimitTurnQueue<string> queue, int count) =>
        string.Join(",", Enumerable.Range(0, count).Select(_ => queue.Dequeue()));

    [Fact]
    public void Batches_without_tenant_or_priority_alternate_one_grant_each_in_arrival_order()
    {
        var queue = new LimitTurnQueue<string>();
        Add(queue, "a", 4);
        Add(queue, "b", 2);
        Add(queue, "c", 1);
        Assert.Equal("a,b,c,a,b,a,a", Take(queue, 7));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Priority_5_gets_5_grants_for_each_grant_of_priority_1_spread_over_the_round()
    {
        var queue = new LimitTurnQueue<string>();
        Add(queue, "x", 100, priority: 5);
        Add(queue, "y", 100, priority: 1);
        Assert.Equal("x,x,x,y,x,x,x,x,x,y,x,x", Take(queue, 12));
    }

    [Fact]
    public void Priority_2_against_priority_1_grants_2_to_1()
    {
        var queue = new LimitTurnQueue<string>();
        Add(queue, "x", 100, priority: 2);
        Add(queue, "y", 100, priority: 1);
        Assert.Equal("x,y,x,x,y,x", Take(queue, 6));
    }

    [Fact]
    public void A_tenant_with_3_batches_gets_the_turns_of_a_batch_alone_and_shares_them_among_its_batches()
    {
        var queue = new LimitTurnQueue<string>();
        Add(queue, "t1", 10, tenant: "acme");
        Add(queue, "t2", 10, tenant: "acme");
        Add(queue, "t3", 10, tenant: "acme");
        Add(queue, "u", 10);
        Assert.Equal("t1,u,t2,u,t3,u,t1,u", Take(queue, 8));
    }

    [Fact]
    public void Two_tenants_with_9_and_1_batches_waiting_get_equal_turns()
    {
        var queue = new LimitTurnQueue<string>();
        for (int b = 0; b < 9; b++)
        {
            Add(queue, $"big-{b}", 100, tenant: "big");
        }

        Add(queue, "small-0", 1_000, tenant: "small");
        string[] grants = Take(queue, 1_000).Split(',');
        Assert.Equal(500, grants.Count(g => g == "small-0"));
        Assert.All(Enumerable.Range(0, 9), b => Assert.InRange(grants.Count(g => g == $"big-{b}"), 55, 56));
    }

    [Fact]
    public void A_tenant_weighs_its_highest_waiting_priority_and_its_batches_share_by_priority()
    {
        var queue = new LimitTurnQueue<string>();
        Add(queue, "low", 100, priority: 1, tenant: "acme");
        Add(queue, "high", 100, priority: 5, tenant: "acme");
        Add(queue, "other", 100, priority: 5);
        string[] grants = Take(queue, 120).Split(',');
        Assert.Equal(60, grants.Count(g => g == "other"));
        Assert.Equal(50, grants.Count(g => g == "high"));
        Assert.Equal(10, grants.Count(g => g == "low"));
    }

    [Theory]
    [InlineData(null, null, 20)]
    [InlineData(5, 1, 60)] // the large batch at the highest priority, the small at the lowest: 1 grant in 6
    [InlineData(1, 5, 12)]
    public void A_10_waiter_batch_arriving_behind_100000_waiters_is_served_within_a_bound(int? largePriority, int? smallPriority, int bound)
    {
        var queue = new LimitTurnQueue<string>();
        Add(queue, "large", 100_000, largePriority);
        Assert.Equal("large,large,large", Take(queue, 3));
        Add(queue, "small", 10, smallPriority);
        int served = 0, grants = 0;
        while (served < 10)
        {
            grants++;
            if (queue.Dequeue() == "small")
            {
                served++;
            }
        }

        Assert.InRange(grants, 10, bound);
        Assert.Equal(100_000 - 3 - (grants - 10), queue.Count);
    }

    [Fact]
    public void A_removed_waiter_is_never_granted_and_its_batch_leaves_the_turns_when_empty()
    {
        var queue = new LimitTurnQueue<string>();
        Add(queue, "a", 2);
        LimitTurnQueue<string>.Entry gone = queue.Enqueue(new LimitClaim("b", null, null), "b");
        Assert.Equal(2, queue.Batches);
        Assert.True(queue.Remove(gone));
        Assert.False(queue.Remove(gone));
        Assert.Equal(1, queue.Batches);
        Assert.Equal("a,a", Take(queue, 2));
        Assert.Throws<InvalidOperationException>(() => queue.Dequeue());
    }

    [Fact]
    public void The_weight_is_the_sum_over_waiting_tenants_of_their_highest_priority()
    {
        var queue = new LimitTurnQueue<string>();
        Assert.Equal((0, 0), (queue.Batches, queue.Weight));
        Add(queue, "a1", 3, priority: 2, tenant: "acme");
        Add(queue, "a2", 1, priority: 4, tenant: "acme");
        Add(queue, "b", 1, priority: 1);
        Add(queue, "c", 1);
        Assert.Equal((4, 4 + 1 + 3), (queue.Batches, queue.Weight));
    }
}
