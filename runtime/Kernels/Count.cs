namespace StaticNet;

/// <summary>A compile-time count for the kernels' blocks: the JIT specialises a kernel per count and drops the unused lanes.</summary>
internal interface ICount { static abstract int N { get; } }
internal struct One : ICount { public static int N => 1; }
internal struct Two : ICount { public static int N => 2; }
internal struct Three : ICount { public static int N => 3; }
internal struct Four : ICount { public static int N => 4; }
internal struct Five : ICount { public static int N => 5; }
internal struct Six : ICount { public static int N => 6; }
internal struct Seven : ICount { public static int N => 7; }
internal struct Eight : ICount { public static int N => 8; }
